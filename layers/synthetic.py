"""Synthetic caseload on real geography, for the demo and the benchmarks. Never real people.

Per functioning SLEP school of the Mineduc directory, the number of students
with *inasistencia grave* is drawn from its enrolment and the published rate
for the province (32.1 %, first half of 2022, CEM via radiosago.cl — see
``data/chiloe/asistencia_categorias_y_cifras.csv``), plus students without
enrolment (2.3 % of the 10–17 cohort, seed 002's desertion figure, applied to
enrolment as an approximation). Homes are drawn near the school, on land and
on the school's own island; the address names the nearest locality of the
gazetteer in the rural formats used in Chiloé, some of them messy. RUNs are
in 90,000,000–99,999,999 with a valid check digit: no person has one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.geocode import Geocoder
from layers.intake import run_check_digit
from layers.territory import METRIC_CRS
from layers.territory import WGS84
from layers.territory import Territory

__all__ = [
    "GRAVE_RATE",
    "HEADERS",
    "NOT_ENROLLED_RATE",
    "SyntheticCaseload",
    "generate_caseload",
    "is_synthetic_run",
    "messy_file",
    "monthly_file",
]

GRAVE_RATE = 0.321  # Provincia de Chiloé, 2022 first half (CEM, cited by radiosago.cl)
NOT_ENROLLED_RATE = 0.023  # 10-17 years, seed 002 (deserción 2017→2018), as an approximation
RUN_LOW, RUN_HIGH = 90_000_000, 99_999_999


def is_synthetic_run(run: int) -> bool:
    """Whether a RUN number (without check digit) is in the synthetic range `RUN_LOW`–`RUN_HIGH`.

    The project's synthetic data (demo, tests, benchmarks) only uses that
    range, far above the RUNs the Registro Civil has given so far, so a file
    whose every RUN is there holds no real person.
    """
    return RUN_LOW <= run <= RUN_HIGH


HEADERS = [
    "RUN",
    "DV",
    "Nombres",
    "Apellido Paterno",
    "Apellido Materno",
    "Fecha Nacimiento",
    "RBD",
    "Curso",
    "Días Asistidos",
    "Días Trabajados",
    "% Asistencia",
    "Mes",
    "Dirección",
    "Sector",
    "Comuna",
    "Teléfono",
    "Apoderado",
    "Situación",
    "Último año matrícula",
    "NEE permanente",
]

_GIVEN_F = [
    "Sofía",
    "Isidora",
    "Antonella",
    "Catalina",
    "Valentina",
    "Josefa",
    "Martina",
    "Florencia",
    "Agustina",
    "Emilia",
    "Constanza",
    "Javiera",
    "Fernanda",
    "Camila",
    "Trinidad",
    "Amanda",
    "Maite",
    "Antonia",
    "Ignacia",
    "Francisca",
    "Belén",
    "Daniela",
    "Paula",
    "Rayén",
    "Ayelén",
]
_GIVEN_M = [
    "Benjamín",
    "Vicente",
    "Martín",
    "Matías",
    "Joaquín",
    "Agustín",
    "Tomás",
    "Cristóbal",
    "Maximiliano",
    "Bastián",
    "Sebastián",
    "Diego",
    "Felipe",
    "Lucas",
    "Ignacio",
    "Gaspar",
    "José",
    "Juan",
    "Luis",
    "Nicolás",
    "Alonso",
    "Byron",
    "Kevin",
    "Bruno",
    "Ailín",
]
_SURNAMES = [
    "Barría",
    "Cárcamo",
    "Vera",
    "Oyarzún",
    "Gallardo",
    "Mansilla",
    "Álvarez",
    "Andrade",
    "Alvarado",
    "Díaz",
    "Muñoz",
    "Millalonco",
    "Nahuelquín",
    "Cheuquemán",
    "Levicoy",
    "Chiguay",
    "Huenchor",
    "Paillacar",
    "Guenteo",
    "Marimán",
    "Cuyul",
    "Llancalahuén",
    "Guineo",
    "Pérez",
    "Soto",
    "Ruiz",
    "Gómez",
    "Vargas",
    "Navarro",
    "Santana",
    "Bahamonde",
    "Hernández",
    "Triviño",
    "Subiabre",
    "Velásquez",
    "Aguilar",
    "Torres",
    "Cárdenas",
    "Mayorga",
    "Ojeda",
    "Uribe",
]
_STREETS = (
    "Los Aromos",
    "Los Notros",
    "Las Gaviotas",
    "Pedro Montt",
    "O'Higgins",
    "Los Coigües",
    "El Faro",
    "Las Camelias",
    "Los Mañíos",
    "Bernardo Philippi",
)
_POBLACIONES = ("Gamboa", "Los Presidentes", "Padre Hurtado", "El Mirador", "Costanera")
_GRADES = {
    **{i: f"{i}° básico" for i in range(1, 9)},
    **{8 + i: f"{i}° medio" for i in range(1, 5)},
}


@dataclass
class SyntheticCaseload:
    """Students (one row each) with their homes; monthly attendance is drawn per file."""

    students: pd.DataFrame
    seed: int

    def __len__(self) -> int:
        """Return the number of synthetic students."""
        return len(self.students)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _typo(text: str, rng: np.random.Generator) -> str:
    if len(text) < 5:
        return text
    i = int(rng.integers(1, len(text) - 2))
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _runs(n: int, rng: np.random.Generator) -> list[int]:
    return [int(r) for r in rng.choice(RUN_HIGH - RUN_LOW, size=n, replace=False) + RUN_LOW]


def _home(school_xy, island_geom, rural: bool, rng: np.random.Generator):
    """Draw a point on land, on the school's island, near the school (metric CRS)."""
    mean = 2500.0 if rural else 800.0
    for _ in range(40):
        distance = rng.exponential(mean) + 80.0
        angle = rng.uniform(0, 2 * math.pi)
        x = school_xy[0] + distance * math.cos(angle)
        y = school_xy[1] + distance * math.sin(angle)
        if island_geom is None or island_geom.contains(shapely.Point(x, y)):
            return x, y
    return school_xy


def generate_caseload(
    territory: Territory,
    geocoder: Geocoder,
    *,
    seed: int = 2026,
    scale: float = 1.0,
    today: dt.date | None = None,
) -> SyntheticCaseload:
    """Draw the synthetic students of every functioning SLEP school (see module docstring).

    Parameters
    ----------
    scale
        Multiplies the expected number of students (benchmarks use > 1).
    """
    today = today or dt.date.today()
    rng = np.random.default_rng(seed)
    schools = territory.schools[
        territory.schools["is_slep"]
        & territory.schools["has_location"]
        & (territory.schools["enrolment"] > 0)
    ].to_crs(METRIC_CRS)
    islands = territory.islands.to_crs(METRIC_CRS).set_index("name")["geometry"]
    places = geocoder.table()
    places = places[places["kind"].isin(["localidad", "pueblo"])].reset_index(drop=True)
    place_points = gpd.GeoSeries.from_xy(places["lon"], places["lat"], crs=WGS84).to_crs(METRIC_CRS)
    place_tree = shapely.STRtree(list(place_points))
    rows = []
    for school in schools.itertuples():
        n_grave = rng.binomial(int(school.enrolment), min(GRAVE_RATE * scale, 1.0))
        n_out = rng.binomial(int(school.enrolment), min(NOT_ENROLLED_RATE * scale, 1.0))
        has_media = "LICEO" in school.name.upper() or school.enrolment > 400
        top_grade = 12 if has_media else 8
        island = islands.get(school.island_name) if school.island_name else None
        for k in range(n_grave + n_out):
            enrolled = k < n_grave
            grade = int(rng.integers(1, top_grade + 1))
            rezago = int(rng.choice([0, 0, 0, 1, 1, 2, 3]))
            age = grade + 5 + rezago if enrolled else int(rng.integers(10, 19))
            birth = dt.date(today.year - age, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
            x, y = _home((school.geometry.x, school.geometry.y), island, school.is_rural, rng)
            nearest = place_tree.query_nearest(shapely.Point(x, y), max_distance=4000)
            place = places.iloc[int(nearest[0])] if len(nearest) else None
            female = bool(rng.random() < 0.5)
            given = rng.choice(_GIVEN_F if female else _GIVEN_M, size=int(rng.integers(1, 3)))
            paternal, maternal = rng.choice(_SURNAMES, size=2)
            rows.append(
                {
                    "rbd": int(school.rbd),
                    "comuna": school.comuna_name,
                    "school_rural": bool(school.is_rural),
                    "given": " ".join(dict.fromkeys(given)),
                    "paternal": paternal,
                    "maternal": maternal,
                    "birth": birth,
                    "grade": grade if enrolled else None,
                    "last_year": None if enrolled else int(today.year - rng.integers(1, 5)),
                    "last_grade": None if enrolled else max(min(age - 6 - 2, 12), 1),
                    "enrolled": enrolled,
                    "nee": bool(rng.random() < 0.03),
                    "home_x": x,
                    "home_y": y,
                    "place": None if place is None else place["name"],
                    "place_kind": None if place is None else place["kind"],
                    "guardian": f"{rng.choice(_GIVEN_F)} {maternal}",
                    "phone_tail": int(rng.integers(0, 10_000)),
                    "base_pct": float(np.clip(rng.normal(68, 14), 5, 84.9)),
                    "address_style": int(rng.integers(0, 10)),
                }
            )
    students = pd.DataFrame(rows)
    students["run"] = _runs(len(students), rng)
    students["dv"] = [run_check_digit(r) for r in students["run"]]
    return SyntheticCaseload(students, seed)


def _address(row, rng: np.random.Generator) -> tuple[str, str]:
    """(address, sector) in the formats seen in rural Chiloé; some deliberately messy."""
    style = row.address_style
    place = row.place
    if not isinstance(place, str) or style == 9:
        return "Sector rural s/n", ""
    if row.place_kind == "pueblo":
        street = _STREETS[int(rng.integers(len(_STREETS)))]
        number = int(rng.integers(10, 1200))
        pob = _POBLACIONES[int(rng.integers(len(_POBLACIONES)))]
        return f"Pje. {street} {number}", f"Pob. {pob}" if style < 5 else ""
    if style <= 2:
        return f"Sector {place} s/n", ""
    if style <= 4:
        return f"Camino a {row.comuna} km {int(rng.integers(1, 25))}", place
    if style == 5:
        return f"sect. {_strip_accents(place).lower()} S/N", ""
    if style == 6:
        return f"{_typo(place, rng)}, casa {int(rng.integers(1, 60))}", ""
    if style == 7:
        return "Camino vecinal s/n", f"Sec. {place}"
    return f"{place.upper()} KM {int(rng.integers(1, 9))}", ""


def _month_pct(base: float, month_index: int, rng: np.random.Generator) -> float:
    drift = rng.normal(3.0, 7.0) * month_index
    return float(np.clip(base + drift, 0.0, 100.0))


def monthly_file(
    caseload: SyntheticCaseload,
    period: str,
    month_index: int,
    *,
    working_days: int = 21,
) -> bytes:
    """Write the alert list of one month as a SIPTE-like CSV (``;``, UTF-8 with BOM).

    Students whose attendance recovered to ≥ 90 % leave the list that month.
    """
    rng = np.random.default_rng(caseload.seed + 1000 + month_index)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    address_rng = np.random.default_rng(caseload.seed + 7)
    for row in caseload.students.itertuples():
        address, sector = _address(row, address_rng)
        if row.enrolled:
            pct = _month_pct(row.base_pct, month_index, rng)
            if pct >= 90.0:
                continue
            present = math.floor(pct / 100 * working_days)
            days = (str(present), str(working_days))
            pct_text = f"{100 * present / working_days:.1f}".replace(".", ",")
            status, last_year, grade = "Matriculado", "", _GRADES[int(row.grade)]
        else:
            days, pct_text = ("", ""), ""
            status, last_year, grade = "Sin matrícula", str(int(row.last_year)), ""
        writer.writerow(
            [
                row.run,
                row.dv,
                row.given,
                row.paternal,
                row.maternal,
                row.birth.strftime("%d/%m/%Y"),
                row.rbd,
                grade,
                *days,
                pct_text,
                period,
                address,
                sector,
                row.comuna,
                f"+56 9 0000 {row.phone_tail:04d}",
                row.guardian,
                status,
                last_year,
                "Sí" if row.nee else "No",
            ]
        )
    return out.getvalue().encode("utf-8")


# Rows of the messy file: (what is wrong, the cells that differ from a good row).
_MESSY_ROWS: tuple[tuple[str, dict[str, str]], ...] = (
    ("fila correcta", {}),
    ("fila correcta con dirección desordenada", {"Domicilio": "sect. huyar alto S/N"}),
    ("RUN vacío", {"RUT": ""}),
    ("RUN con letras", {"RUT": "9O.1A3.456-K"}),
    ("dígito verificador erróneo", {"RUT": "WRONG_DV"}),
    ("RUN provisorio", {"RUT": "PROVISIONAL"}),
    ("RUN repetido", {"RUT": "REPEAT"}),
    ("sin nombre", {"Nombre Completo": ""}),
    ("fecha imposible", {"Fec. Nac.": "31/02/2012"}),
    ("año de nacimiento fuera de rango", {"Fec. Nac.": "03/05/1950"}),
    ("RBD vacío", {"RBD": ""}),
    ("RBD con texto", {"RBD": "Escuela Quilar"}),
    ("RBD que no existe", {"RBD": "99999"}),
    ("asistencia con texto", {"Asistencia": "ochenta"}),
    ("asistencia mayor a 100", {"Asistencia": "135"}),
    ("sin asistencia", {"Asistencia": "", "Días Asistidos": "", "Días Trabajados": ""}),
    ("días no numéricos", {"Días Asistidos": "15 días"}),
    ("asistidos más que trabajados", {"Días Asistidos": "25", "Días Trabajados": "20"}),
    ("mes ilegible", {"Periodo": "mes 13"}),
    ("curso no reconocido", {"Grado": "Taller de oficios"}),
    ("situación desconocida", {"Estado Matrícula": "de vacaciones"}),
    ("año no válido", {"Ultima Matricula": "20233"}),
    ("NEE ilegible", {"NEE": "quizás"}),
    ("comuna de otra provincia", {"Comuna": "Puerto Montt"}),
    ("teléfono corto", {"Fono Apoderado": "65 123"}),
    ("dirección pegada muchas veces", {"Domicilio": "Sector Huyar Alto s/n, " * 16}),
    ("columnas de más", {"__extra__": "dato suelto;otro dato"}),
    ("nombre distinto para un RUN ya registrado", {"Nombre Completo": "NAME_MISMATCH"}),
    ("dígito verificador que contradice el RUN", {"Dig. Verif.": "OTHER_DV"}),
    ("asistencia de otro mes", {"Periodo": "PREVIOUS_MONTH"}),
    ("sin mes en un archivo de dos meses", {"Periodo": ""}),
    ("guion suave invisible copiado de un procesador de texto", {"Apoderado": "SOFT_HYPHEN"}),
)
MESSY_HEADERS = [
    "RUT",
    "Dig. Verif.",
    "Nombre Completo",
    "Fec. Nac.",
    "RBD",
    "Grado",
    "Asistencia",
    "Días Asistidos",
    "Días Trabajados",
    "Periodo",
    "Domicilio",
    "Comuna",
    "Fono Apoderado",
    "Apoderado",
    "Estado Matrícula",
    "Ultima Matricula",
    "NEE",
]


def _fill_late_placeholders(row: dict[str, str], previous: str) -> None:
    """Resolve the messy rows' month, soft-hyphen and check-digit placeholders in place."""
    if row["Periodo"] == "PREVIOUS_MONTH":
        row["Periodo"] = previous
    if row["Apoderado"] == "SOFT_HYPHEN":  # invisible in a sheet, removed on import
        row["Apoderado"] = row["Apoderado"].replace("SOFT_HYPHEN", "Her\u00admosilla")
    inline = row["RUT"].rpartition("-")[2][-1:]
    if row["Dig. Verif."] == "OTHER_DV":
        row["Dig. Verif."] = "0" if inline != "0" else "1"
    elif "-" in row["RUT"]:
        row["Dig. Verif."] = inline  # the column repeats the RUT's own check digit


def messy_file(caseload: SyntheticCaseload, period: str) -> bytes:
    """Write a deliberately messy school sheet that exercises every row-level message.

    Latin-1, comma-separated, unusual headers (the check digit both in the RUT and
    in a «Dig. Verif.» column). Row 2 is a correct row; each following row breaks
    one rule. One row uses the RUN of a student of `caseload` under another name, so
    it trips *name_mismatch* once the demo caseload has been imported; one row is of
    the month before `period`, so a row without a month cannot take the file's; a
    footer line «Total» closes the file, as report exports do.
    """
    students = caseload.students
    first, known = students.iloc[0], students.iloc[1]
    good = {
        "RUT": f"{first.run:,}".replace(",", ".") + f"-{first.dv}",
        "Dig. Verif.": first.dv,
        "Nombre Completo": f"{first.given} {first.paternal} {first.maternal}",
        "Fec. Nac.": first.birth.strftime("%d-%m-%Y"),
        "RBD": str(first.rbd),
        "Grado": "7° Básico A",
        "Asistencia": "71,4%",
        "Días Asistidos": "15",
        "Días Trabajados": "21",
        "Periodo": period,
        "Domicilio": f"Sector {first.place or 'rural'} s/n",
        "Comuna": first.comuna,
        "Fono Apoderado": "+56 9 0000 1234",
        "Apoderado": first.guardian,
        "Estado Matrícula": "matriculado",
        "Ultima Matricula": "",
        "NEE": "no",
    }
    provisional = 100_000_123
    year, month = (int(part) for part in period.split("-"))
    previous = f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=",", lineterminator="\r\n")
    writer.writerow(MESSY_HEADERS)
    base_run = RUN_LOW + 1_234_567
    for index, (_, changes) in enumerate(_MESSY_ROWS):
        row = dict(good)
        if index:  # every row but the first is its own (synthetic) student
            run = base_run + index
            row["RUT"] = f"{run}-{run_check_digit(run)}"
        for key, value in changes.items():
            row[key] = value
        if row["RUT"] == "WRONG_DV":
            run = base_run + 500
            digit = run_check_digit(run)
            row["RUT"] = f"{run}-{'1' if digit != '1' else '2'}"
        elif row["RUT"] == "PROVISIONAL":
            row["RUT"] = f"{provisional}-{run_check_digit(provisional)}"
        elif row["RUT"] == "REPEAT":
            row["RUT"] = good["RUT"]
        if row["Nombre Completo"] == "NAME_MISMATCH":
            row["RUT"] = f"{known.run}-{known.dv}"
            row["Nombre Completo"] = "Persona Inventada Distinta"
            row["RBD"] = str(known.rbd)
        _fill_late_placeholders(row, previous)
        extra = row.pop("__extra__", None)
        cells = [row[h] for h in MESSY_HEADERS]
        if extra:
            cells += extra.split(";")
        writer.writerow(cells)
    writer.writerow([f"Total: {len(_MESSY_ROWS)} estudiantes"] + [""] * (len(MESSY_HEADERS) - 1))
    return out.getvalue().encode("cp1252")
