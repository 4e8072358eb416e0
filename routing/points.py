"""Reading point lists (``id,lat,lon``) for matrices, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from routing._errors import RoutingInputError

__all__ = ["read_points"]


def read_points(path: str | Path) -> pd.DataFrame:
    """Read a CSV of points with columns ``id, lat, lon`` (comma or semicolon separated).

    Raises
    ------
    RoutingInputError
        Listing every problem (missing columns, values that are not numbers,
        coordinates out of range, repeated ids), each with the row number.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        msg = f"No se pudo leer {path.name!r} como CSV UTF-8: {err}."
        raise RoutingInputError(msg) from err
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("id", "lat", "lon") if c not in df.columns]
    if missing:
        msg = (
            f"{path.name}: faltan las columnas {', '.join(missing)}. "
            "El archivo debe tener una fila de encabezado con id,lat,lon."
        )
        raise RoutingInputError(msg)
    problems: list[str] = []
    for column, low, high in (("lat", -90, 90), ("lon", -180, 180)):
        values = pd.to_numeric(df[column].str.replace(",", ".", regex=False), errors="coerce")
        for i in df.index[values.isna() | ~values.between(low, high)][:10]:
            value = df.at[i, column]
            problems.append(
                f"fila {i + 2}: `{column}`={value!r} no es un número entre {low} y {high}"
            )
        df[column] = values
    df["id"] = df["id"].fillna("").str.strip()
    for i in df.index[df["id"] == ""][:10]:
        problems.append(f"fila {i + 2}: falta `id`")
    for value in df.loc[df["id"].duplicated() & (df["id"] != ""), "id"].unique()[:10]:
        problems.append(f"`id`={value!r} está repetido; cada punto necesita un id único")
    if problems:
        msg = f"{path.name} tiene {len(problems)} problema(s):\n- " + "\n- ".join(problems)
        raise RoutingInputError(msg)
    if df.empty:
        msg = f"{path.name} no tiene puntos."
        raise RoutingInputError(msg)
    return df[["id", "lat", "lon"]].reset_index(drop=True)
