"""Map files of a coverage run: a self-contained HTML map, GeoJSON, and a printable A4 PDF/PNG.

Everything here is drawn from what the account may see (`geo_app.coverage.service`):
H3 cells coloured by band (places, never people: no count is attached to a
cell), the services of the run's type (public places), the boat lines and the
comunas as background, and a legend whose band counts are the *published*
totals of the case table (for a mesa, protected: ``<k`` where hidden). No case's
point or identity enters a map file.

* HTML: made with folium (Leaflet); Leaflet's JavaScript and CSS are inlined
  from the vendored copy (``static/vendor/leaflet``, 1.9.4) and its images as
  ``data:`` URIs, and no tile layer is used, so the file opens with no internet.
* GeoJSON: one FeatureCollection with the bands (cells of a band dissolved with
  `h3.cells_to_h3shape`) and the cells.
* PDF/PNG: an A4 portrait page drawn with matplotlib (via geopandas), 150 dpi
  for the PNG (1240 × 1754 px).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import re
from pathlib import Path

import h3

from geo_app.config import static_folder
from layers.coverage import band_labels

__all__ = [
    "A4_IN",
    "BAND_COLOURS",
    "PNG_DPI",
    "bands_geojson",
    "html_map",
    "map_geojson",
    "print_map",
]

BAND_COLOURS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#6b6b6b"]  # as the page
A4_IN = (210 / 25.4, 297 / 25.4)  # ISO 216 A4 portrait, in inches
PNG_DPI = 150
SOURCE_NOTE = (
    "Fuente: Revincula, cálculo de cobertura (red vial y horarios de barcos del proyecto; "
    "servicios: Mineduc, DEIS y listas del equipo). Celdas H3: lugares, no personas."
)


def _colour(band: str, bands: list[str]) -> str:
    return BAND_COLOURS[bands.index(band)] if band in bands else BAND_COLOURS[-1]


def bands_geojson(cells: dict, bands: list[str]) -> dict:
    """Dissolve the cells of each band into one (multi)polygon per band.

    `cells` is `geo_app.coverage.service.cells_geojson`'s FeatureCollection;
    returns a FeatureCollection (WGS84) with ``banda``, ``celdas`` (how many
    cells) and ``color`` per feature, in band order; empty bands are left out.
    """
    by_band: dict[str, list[str]] = {}
    for feature in cells["features"]:
        by_band.setdefault(feature["properties"]["banda"], []).append(
            feature["properties"]["celda"]
        )
    features = []
    for band in [*bands, *sorted(set(by_band) - set(bands))]:
        members = by_band.get(band)
        if not members:
            continue
        shape = h3.cells_to_h3shape(members)
        features.append(
            {
                "type": "Feature",
                "geometry": shape.__geo_interface__,
                "properties": {
                    "capa": "banda",
                    "banda": band,
                    "celdas": len(members),
                    "color": _colour(band, bands),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def map_geojson(data: dict) -> dict:
    """Bands and cells of a run in one FeatureCollection (``capa``: ``banda`` or ``celda``)."""
    bands = data["bands"]
    cells = [
        {
            **f,
            "properties": {
                "capa": "celda",
                **f["properties"],
                "color": _colour(f["properties"]["banda"], bands),
            },
        }
        for f in data["cells"]["features"]
    ]
    return {
        "type": "FeatureCollection",
        "name": f"cobertura-{data['payload']['corrida']}",
        "properties": _header(data),
        "features": [*bands_geojson(data["cells"], bands)["features"], *cells],
    }


def _header(data: dict) -> dict:
    payload = data["payload"]
    return {
        "titulo": _title(payload),
        "generado": data["generated"],
        "fuente": SOURCE_NOTE,
        "etiquetas": payload["etiquetas"],
        "reserva": payload["reserva"],
    }


def _title(payload: dict) -> str:
    return (
        f"Tiempo al servicio más cercano: {payload['tipo_etiqueta']} · salida "
        f"{payload['salida'].replace('T', ' ')} · {payload['modo']}"
    )


def band_counts(payload: dict, bands: list[str]) -> list[tuple[str, str]]:
    """``(band, cases)`` from the published comuna table of cases (last layer), as shown.

    For a mesa these are the protected cells (``<k`` where hidden): the map
    never shows a count the tables do not.
    """
    tables = [t for t in payload["tablas"] if t["valor"] == "cases" and t["tabla"] == "comuna"]
    if not tables:
        return [(band, "") for band in bands]
    table = tables[-1]
    total = next((r for r in table["rows"] if r["label"] == "Total"), None)
    if total is None:
        return [(band, "") for band in bands]
    cells = dict(zip(table["columns"], total["cells"], strict=True))
    return [(band, str(cells.get(band, ""))) for band in bands]


def _largest_hidden(payload: dict) -> int:
    """Return k − 1 for a reserve shown as ``<k``: the largest count always hidden."""
    return int(payload["reserva"].lstrip("<")) - 1


def _labels(payload: dict) -> list[str]:
    """Return the run's labels, «red aproximada» and «horario supuesto» ones first."""
    flagged = [x for x in payload["etiquetas"] if re.search(r"aproximada|supuest", x, re.I)]
    return flagged + [x for x in payload["etiquetas"] if x not in flagged]


# --------------------------------------------------------------------------- HTML (folium)


def _vendored() -> tuple[str, str]:
    """Leaflet's JS and CSS from the vendored copy, the CSS images as data URIs."""
    folder = Path(static_folder()) / "vendor" / "leaflet"
    script = (folder / "leaflet.js").read_text(encoding="utf-8")
    css = (folder / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        path = folder / match.group(1)
        if not path.is_file():
            return "none"
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{encoded})"

    css = re.sub(r"url\((images/[^)]+\.png)\)", inline, css)
    # a literal "</script>" would close the inline element early
    return script.replace("</script", "<\\/script"), css


def html_map(data: dict) -> str:
    """Return the self-contained HTML map of a run (no external script, style or tile).

    `data` is `geo_app.coverage.exports.map_data`'s dict. The legend holds the
    bands with their published case counts, the date the file was made, the
    source and the run's labels (red aproximada, horario supuesto…).
    """
    import folium
    from branca.element import Element
    from branca.element import MacroElement
    from jinja2 import Template

    payload, bands = data["payload"], data["bands"]
    fmap = folium.Map(
        location=[-42.6, -73.75], zoom_start=8, tiles=None, control_scale=True, prefer_canvas=True
    )
    fmap.default_js, fmap.default_css = [], []  # no CDN: Leaflet is inlined below
    script, css = _vendored()
    root = fmap.get_root()
    root.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    root.header.add_child(Element(f"<script>{script}</script>"), name="leaflet_js_inline")
    root.header.add_child(Element(f"<style>{_LEGEND_CSS}</style>"), name="legend_css")
    root.title = _title(payload)
    folium.GeoJson(
        data["comunas"],
        name="Comunas",
        style_function=lambda _f: {
            "color": "#6b8e6b",
            "weight": 1,
            "fillColor": "#eef2ea",
            "fillOpacity": 1,
        },
        interactive=False,
    ).add_to(fmap)
    cells = folium.GeoJson(
        _escaped(data["cells"]),
        name="Bandas de tiempo (celdas H3)",
        style_function=lambda f: {
            "color": "#555",
            "weight": 0.3,
            "fillOpacity": 0.75,
            "fillColor": _colour(f["properties"]["banda"], bands),
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["comuna", "isla", "banda", "minutos"],
            aliases=["Comuna", "Isla", "Banda", "Minutos"],
        ),
    ).add_to(fmap)
    if data["boats"]["features"]:
        folium.GeoJson(
            data["boats"],
            name="Líneas de barco",
            style_function=lambda _f: {"color": "#0b3d91", "weight": 2, "dashArray": "4 5"},
        ).add_to(fmap)
    if data["services"]["features"]:
        fields = [
            k
            for k in ("nombre", "ubicacion", "horario", "fuente")
            if k in data["services"]["features"][0]["properties"]
        ]
        folium.GeoJson(
            _escaped(data["services"]),
            name="Servicios",
            marker=folium.CircleMarker(
                radius=5, fill=True, fill_opacity=1, color="#fff", weight=1.5
            ),
            style_function=lambda f: {
                "fillColor": "#7b2cbf" if f["properties"].get("agregado") else "#111",
                "radius": 8 if f["properties"].get("agregado") else 5,
            },
            # GeoJsonPopup: folium's Popup needs jQuery, which is not inlined
            popup=folium.GeoJsonPopup(fields=fields, labels=False),
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if data["cells"]["features"]:
        fmap.fit_bounds(cells.get_bounds())
    legend = MacroElement()
    legend._template = Template(  # branca's way to add raw HTML to the map's <body>
        "{% macro html(this, kwargs) %}" + _legend_html(data) + "{% endmacro %}"
        # Leaflet's attribution prefix is a link to its web site: plain text offline
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.attributionControl.setPrefix('Leaflet');{% endmacro %}"
    )
    fmap.add_child(legend)
    return root.render()


def _escaped(collection: dict) -> dict:
    """Return the collection with its text properties HTML-escaped (folium inserts them raw)."""
    return {
        **collection,
        "features": [
            {
                **f,
                "properties": {
                    k: html.escape(v) if isinstance(v, str) else v
                    for k, v in f["properties"].items()
                },
            }
            for f in collection["features"]
        ],
    }


_LEGEND_CSS = """
.rv-legend{position:fixed;z-index:1000;bottom:34px;left:12px;max-width:360px;background:#fff;
 padding:8px 10px;border:1px solid #888;border-radius:4px;font:12px/1.35 sans-serif;
 max-height:70vh;overflow:auto}
.rv-legend h2{font-size:13px;margin:0 0 4px}.rv-legend .sw{display:inline-block;width:12px;
 height:12px;margin-right:6px;vertical-align:middle;border:1px solid #555}
.rv-legend .n{float:right;margin-left:8px}.rv-legend p{margin:4px 0}
.rv-legend .warn{color:#8a3b00}.rv-legend small{color:#444}
"""


def _legend_html(data: dict) -> str:
    payload, bands = data["payload"], data["bands"]
    esc = html.escape
    rows = "".join(
        f'<div><span class="sw" style="background:{_colour(band, bands)}"></span>{esc(band)}'
        f'<span class="n">{esc(count)}</span></div>'
        for band, count in band_counts(payload, bands)
    )
    reserve = (
        f"<p><small>Cifras de 1 a {_largest_hidden(payload)} y las que permitirían deducirlas "
        f"se muestran como «{esc(payload['reserva'])}» (reserva estadística).</small></p>"
        if payload["reserva"]
        else ""
    )
    labels = "".join(
        f'<p class="{"warn" if re.search(r"aproximada|supuest", x, re.I) else ""}">'
        f"<small>{esc(x)}</small></p>"
        for x in _labels(payload)
    )
    return (
        f'<div class="rv-legend" id="rv-legend"><h2>{esc(_title(payload))}</h2>'
        f"<p><strong>Tiempo al más cercano</strong> <span class='n'>casos</span></p>{rows}"
        '<div><span class="sw" style="background:#111;border-radius:6px"></span>servicio</div>'
        '<div><span class="sw" style="background:#7b2cbf;border-radius:6px"></span>'
        "agregado (escenario)</div>"
        '<div><span class="sw" style="background:#0b3d91"></span>línea de barco</div>'
        f"{reserve}{labels}<p><small>{esc(SOURCE_NOTE)}</small></p>"
        f"<p><small>Generado el {esc(data['generated'])} (hora de Chile).</small></p></div>"
    )


# --------------------------------------------------------------------------- PDF / PNG (A4)


def print_map(data: dict, fmt: str) -> bytes:
    """Return an A4 portrait page (PDF, or PNG at `PNG_DPI`) of the run's map.

    The page has the title, the map (comunas, cells by band, boat lines,
    services), the legend with the published case counts per band, the labels,
    the source and the date. Drawn with geopandas/matplotlib (Agg backend).

    Raises
    ------
    ValueError
        For a format other than ``pdf`` or ``png``.
    """
    if fmt not in {"pdf", "png"}:
        msg = "Formato desconocido: use mapa.pdf o mapa.png."
        raise ValueError(msg)
    import geopandas as gpd
    import matplotlib as mpl

    mpl.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    payload, bands = data["payload"], data["bands"]
    fig = Figure(figsize=A4_IN)
    fig.text(0.05, 0.965, "Cobertura de servicios · Revincula", fontsize=9, color="#444")
    fig.text(0.05, 0.945, _wrap(_title(payload), 80), fontsize=11, weight="bold", va="top")
    ax = fig.add_axes((0.05, 0.30, 0.90, 0.61))
    ax.set_axis_off()
    comunas = _frame(gpd, data["comunas"])
    if comunas is not None:
        comunas.plot(ax=ax, color="#eef2ea", edgecolor="#6b8e6b", linewidth=0.4)
    cells = _frame(gpd, data["cells"])
    if cells is not None:
        cells.plot(
            ax=ax,
            color=[_colour(b, bands) for b in cells["banda"]],
            edgecolor="#555",
            linewidth=0.1,
            alpha=0.85,
        )
        xmin, ymin, xmax, ymax = cells.total_bounds
        pad = 0.03 * max(xmax - xmin, ymax - ymin)
        ax.set_xlim(xmin - pad, xmax + pad)
        ax.set_ylim(ymin - pad, ymax + pad)
    boats = _frame(gpd, data["boats"])
    if boats is not None:
        boats.plot(ax=ax, color="#0b3d91", linewidth=0.8, linestyle="--")
    services = _frame(gpd, data["services"])
    if services is not None:
        added = [bool(f["properties"].get("agregado")) for f in data["services"]["features"]]
        services.plot(
            ax=ax,
            color=["#7b2cbf" if a else "#111" for a in added],
            markersize=9,
            edgecolor="white",
            linewidth=0.4,
        )
    ax.set_aspect(1 / 0.737)  # 1° of longitude at 42.5° S is cos(42.5°) ≈ 0.737 of 1° latitude
    handles = [
        Patch(facecolor=_colour(band, bands), edgecolor="#555", label=f"{band}: {count} casos")
        for band, count in band_counts(payload, bands)
    ]
    handles += [
        Line2D([], [], marker="o", color="w", markerfacecolor="#111", label="servicio"),
        Line2D(
            [], [], marker="o", color="w", markerfacecolor="#7b2cbf", label="agregado (escenario)"
        ),
        Line2D([], [], color="#0b3d91", linestyle="--", label="línea de barco"),
    ]
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.05, 0.295),
        fontsize=7,
        title="Tiempo al más cercano (casos)",
        title_fontsize=8,
        frameon=True,
        ncol=2,
    )
    notes = []
    if payload["reserva"]:
        notes.append(
            f"Cifras de 1 a {_largest_hidden(payload)} y las que permitirían deducirlas se "
            f"muestran como «{payload['reserva']}» (reserva estadística)."
        )
    notes += _labels(payload)
    notes += [SOURCE_NOTE, f"Generado el {data['generated']} (hora de Chile)."]
    text = "\n".join(_wrap(n, 125) for n in notes)
    fig.text(0.05, 0.175, text, fontsize=5.6, va="top", linespacing=1.3)
    out = io.BytesIO()
    if fmt == "pdf":
        fig.savefig(out, format="pdf", metadata={"Title": _title(payload), "Creator": "Revincula"})
    else:
        fig.savefig(out, format="png", dpi=PNG_DPI)
    return out.getvalue()


def _frame(gpd, collection: dict):
    if not collection.get("features"):
        return None
    return gpd.GeoDataFrame.from_features(collection["features"], crs=4326)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def generated_now() -> str:
    """Return the date and time a file is made, America/Santiago, as ``AAAA-MM-DD HH:MM``."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("America/Santiago")).strftime("%Y-%m-%d %H:%M")


def default_bands() -> list[str]:
    """Return the band labels used when a run stored none (`layers.coverage.band_labels`)."""
    return band_labels()


def dumps(collection: dict) -> str:
    """GeoJSON text (UTF-8, no ASCII escapes)."""
    return json.dumps(collection, ensure_ascii=False)
