"""A plan in readable forms: Spanish summary lines, a CSV of stops, GeoJSON for the map.

None of them holds personal data: visits appear by case id and sector.
"""

from __future__ import annotations

import csv
import io

from geo_app.formats import hm
from geo_app.formats import minutes_label
from layers.export import safe_row

__all__ = ["PALETTE", "colours", "plan_features", "stops_csv", "summary_lines"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def colours(codes: list[str]) -> dict[str, str]:
    """Return one colour of `PALETTE` per gestor code, in order."""
    return {code: PALETTE[n % len(PALETTE)] for n, code in enumerate(codes)}


def summary_lines(result: dict) -> list[str]:
    """Return a readable Spanish summary of a plan's JSON (days, boats, what was left out)."""
    totals = result["totales"]
    lines = [
        f"Visitas planificadas: {totals['visitas']}; sin asignar: {totals['sin_asignar']}; "
        f"prioridad cubierta {totals['prioridad_cubierta']:g} de {totals['prioridad_total']:g}.",
        f"Conducción {minutes_label(totals['conducir_s'])}, "
        f"a pie {minutes_label(totals['caminar_s'])}, barco {minutes_label(totals['barco_s'])}, "
        f"esperas {minutes_label(totals['espera_s'])}, "
        f"{totals['distancia_m'] / 1000:.0f} km.",
    ]
    if result.get("red_aproximada"):
        lines.append(
            "Tiempos sobre la red aproximada (línea recta × factor de rodeo): son estimaciones."
        )
    for day in result["dias"]:
        boats = [t for s in day["paradas"] for t in s["tramos"] if t["tipo"] == "barco"]
        boats += [t for t in day["regreso"] if t["tipo"] == "barco"]
        head = (
            f"{day['dia']} {day['gestor']}: {len(day['paradas'])} visitas, "
            f"{hm(day['inicio'])}–{hm(day['fin'])}"
        )
        if boats:
            head += "; barcos: " + ", ".join(f"{b['linea']} {hm(b['sale'])}" for b in boats)
        lines.append(head)
        lines.extend(
            f"  {n}. {hm(s['inicia'])} {s['etiqueta']}" for n, s in enumerate(day["paradas"], 1)
        )
    if result["sin_asignar"]:
        lines.append("Sin asignar:")
        lines.extend(f"  {u['visita_id']}: {u['detalle']}" for u in result["sin_asignar"])
    return lines


STOPS_HEADER = (
    "dia", "gestor_id", "gestor", "orden", "visita_id", "etiqueta", "llega", "inicia", "sale",
    "barcos", "espera_min",
)  # fmt: skip


def stops_rows(result: dict) -> list[list]:
    """Return one row per planned visit, in `STOPS_HEADER` order (case ids and sectors only)."""
    rows = []
    for day in result["dias"]:
        for n, s in enumerate(day["paradas"], start=1):
            boats = [f"{t['linea']} {hm(t['sale'])}" for t in s["tramos"] if t["tipo"] == "barco"]
            wait = sum(t["duracion_s"] for t in s["tramos"] if t["tipo"] == "espera")
            rows.append(
                [day["dia"], day["gestor_id"], day["gestor"], n, s["visita_id"], s["etiqueta"],
                 hm(s["llega"]), hm(s["inicia"]), hm(s["sale"]), "; ".join(boats),
                 round(wait / 60)]
            )  # fmt: skip
    return rows


def stops_csv(result: dict) -> str:
    """Return one CSV row per planned visit (no personal data: case ids and sectors only)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(STOPS_HEADER)
    writer.writerows(safe_row(row) for row in stops_rows(result))
    return out.getvalue()


def plan_features(result: dict, colours: dict[str, str]) -> list[dict]:
    """GeoJSON features of a plan's days: one point per stop, one line per leg."""
    features = []
    for day in result["dias"]:
        base = {
            "gestor": day["gestor_id"],
            "dia": day["dia"],
            "color": colours.get(day["gestor_id"]),
        }
        legs = [leg for s in day["paradas"] for leg in s["tramos"]] + day["regreso"]
        for leg in legs:
            if len(leg["geometria"]) >= 2:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": leg["geometria"]},
                        "properties": {**base, "tipo": leg["tipo"], "linea": leg["linea"]},
                    }
                )
        for n, stop in enumerate(day["paradas"], start=1):
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [stop["lon"], stop["lat"]]},
                    "properties": {
                        **base,
                        "tipo": "visita",
                        "orden": n,
                        "visita_id": stop["visita_id"],
                        "etiqueta": stop["etiqueta"],
                        "inicia": stop["inicia"][11:16],
                    },
                }
            )
    return features
