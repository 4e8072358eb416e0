"""CSV and XLSX of a run's tables, exactly as the page shows them to the account.

The payload is `geo_app.coverage.service.run_payload`'s: for a mesa, counts are
already protected (hidden cells as ``<k``); nothing else is added here.
XLSX with openpyxl (write-only workbook).
"""

from __future__ import annotations

import csv
import io

from flask import Response

from geo_app.errors import NotFoundError
from geo_app.security import safe_filename

__all__ = ["download", "table_rows"]

TABLE_NAMES = {"comuna": "comuna", "isla": "isla"}


def table_rows(payload: dict) -> list[list[str]]:
    """All tables as rows: a header per table block, then label and cells (text)."""
    rows: list[list[str]] = [
        [
            f"Cobertura: {payload['tipo_etiqueta']}, salida {payload['salida'].replace('T', ' ')}, "
            f"{payload['modo']}"
        ],
        *[[label] for label in payload["etiquetas"]],
    ]
    if payload["reserva"]:
        rows.append(
            [f"Cifras de 1 a {int(payload['reserva'][1:]) - 1} y las que permitirían deducirlas "
             "se muestran "
             f"como «{payload['reserva']}» (reserva estadística con supresión complementaria)."]
        )  # fmt: skip
    for table in [*payload["tablas"], *payload["diferencias"]]:
        layer = table.get("capa", "diferencia (después − antes)")
        rows.append([])
        rows.append([f"{table['titulo']} por {TABLE_NAMES[table['tabla']]} · {layer}"])
        rows.append([TABLE_NAMES[table["tabla"]].capitalize(), *table["columns"]])
        rows.extend([row["label"], *map(str, row["cells"])] for row in table["rows"])
    rows.append([])
    rows.append(["Brechas (más allá del umbral de " + str(payload["umbral"]) + " min)"])
    rows.append(["Lugar", "Casos", "Matrícula", "Población", "Celdas más allá", "Celdas"])
    rows.extend(
        [
            g["place"],
            g["cases"],
            g["enrolment"],
            g["population"],
            str(g["cells"]),
            str(g["cells_total"]),
        ]
        for g in payload["brechas"]
    )
    return rows


def download(payload: dict, fmt: str) -> Response:
    """Return the tables as a CSV or XLSX attachment (`NotFoundError` for another format)."""
    rows = table_rows(payload)
    name = safe_filename(f"cobertura-{payload['corrida']}-{payload['tipo']}.{fmt}", "cobertura")
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return Response(buffer.getvalue().encode("utf-8-sig"), mimetype="text/csv",
                        headers=headers)  # fmt: skip
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Cobertura")
        for row in rows:
            sheet.append([_cell(v) for v in row])
        out = io.BytesIO()
        book.save(out)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(out.getvalue(), mimetype=mimetype, headers=headers)
    msg = "Formato desconocido: use .csv o .xlsx."
    raise NotFoundError(msg)


def _cell(value: str):
    """Numbers as numbers; anything else (``<10``, labels) as text."""
    text = str(value)
    if text.lstrip("+-").isdigit():
        return int(text)
    return text
