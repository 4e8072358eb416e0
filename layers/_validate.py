"""Validation helpers for bundled data: collect every problem, raise once."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

__all__ = ["Problems", "TerritoryDataError"]


class TerritoryDataError(ValueError):
    """A bundled territory file is broken; the message lists every problem in Spanish."""


class Problems:
    """Accumulate data problems across files and raise them all together."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, file_name: str, message: str) -> None:
        """Record one problem of `file_name`."""
        self.items.append(f"{file_name}: {message}")

    def require_columns(self, df: pd.DataFrame, file_name: str, columns: Iterable[str]) -> bool:
        """Record missing columns; return True if all are present."""
        missing = [c for c in columns if c not in df.columns]
        if missing:
            self.add(
                file_name,
                f"faltan las columnas {', '.join(missing)}; "
                "restaure el archivo original o agregue esas columnas.",
            )
        return not missing

    def require_unique(self, df: pd.DataFrame, file_name: str, column: str) -> None:
        """Record repeated values of an id column."""
        repeated = df.loc[df[column].duplicated(), column].unique().tolist()
        if repeated:
            shown = ", ".join(repr(v) for v in repeated[:10])
            self.add(file_name, f"`{column}` repetido: {shown}; cada id debe aparecer una vez.")

    def require_numeric(self, df: pd.DataFrame, file_name: str, column: str) -> pd.Series:
        """Parse `column` as numbers; record the rows whose value is not a number."""
        values = pd.to_numeric(df[column], errors="coerce")
        bad = df.index[
            values.isna() & df[column].notna() & (df[column].astype(str).str.strip() != "")
        ]
        if len(bad):
            rows = ", ".join(str(i + 2) for i in bad[:10])
            self.add(
                file_name,
                f"`{column}` no es un número en la(s) fila(s) {rows}; use punto decimal.",
            )
        return values

    def require_in_bbox(
        self,
        lat: pd.Series,
        lon: pd.Series,
        file_name: str,
        bbox: tuple[float, float, float, float],
    ) -> None:
        """Record coordinates outside `bbox` = (min_lon, min_lat, max_lon, max_lat)."""
        min_lon, min_lat, max_lon, max_lat = bbox
        present = lat.notna() & lon.notna()
        outside = present & ~(lat.between(min_lat, max_lat) & lon.between(min_lon, max_lon))
        if outside.any():
            rows = ", ".join(str(i + 2) for i in lat.index[outside][:10])
            self.add(
                file_name,
                f"coordenadas fuera del territorio en la(s) fila(s) {rows}; "
                "revise que LATITUD y LONGITUD no estén invertidas ni sin signo negativo.",
            )

    def require_valid_geometries(self, gdf: gpd.GeoDataFrame, file_name: str) -> None:
        """Record empty or invalid geometries and a missing CRS."""
        if gdf.crs is None:
            self.add(file_name, "no declara sistema de coordenadas (CRS); debe ser WGS84.")
        invalid = ~gdf.geometry.is_valid | gdf.geometry.is_empty | gdf.geometry.isna()
        if invalid.any():
            self.add(
                file_name,
                f"{int(invalid.sum())} geometría(s) vacía(s) o inválida(s) "
                f"(filas {', '.join(str(i) for i in gdf.index[invalid][:10])}); "
                "corríjalas en un SIG.",
            )

    def raise_if_any(self) -> None:
        """Raise one TerritoryDataError listing every problem, if any."""
        if self.items:
            msg = (
                f"Los datos del territorio tienen {len(self.items)} problema(s):\n- "
                + "\n- ".join(self.items)
            )
            raise TerritoryDataError(msg)
