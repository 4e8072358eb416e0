"""SQLAlchemy 2 models of the case store (the schema itself lives in Alembic migrations)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Date
from sqlalchemy import DateTime
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import SmallInteger
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

__all__ = [
    "Attendance",
    "AuditEntry",
    "Base",
    "Case",
    "Change",
    "Contact",
    "CoverageRun",
    "CoverageScenario",
    "CoverageService",
    "GazetteerRow",
    "GestorRow",
    "HeaderMapping",
    "ImportBatch",
    "JobRow",
    "PlanRow",
    "PlanStop",
    "StageChange",
    "Student",
    "TransitFeedRow",
    "TransitLineRow",
    "TransitStopRow",
    "User",
    "VisitRecord",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-aware now (UTC)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with constraint names stable across SQLite and PostgreSQL."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy's documented pattern
        dt.datetime: DateTime(timezone=True),
        dict: JSON,
    }


class Student(Base):
    """A person, identified by RUN (provisional RUNs above 100,000,000 flagged)."""

    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    run: Mapped[int] = mapped_column(BigInteger, unique=True)
    dv: Mapped[str] = mapped_column(String(1))
    run_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    given_names: Mapped[str] = mapped_column(String(200), default="")
    surnames: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    nee_permanente: Mapped[bool | None] = mapped_column(Boolean)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="student", uselist=False)

    @property
    def full_name(self) -> str:
        """Given names and surnames."""
        return " ".join(p for p in (self.given_names, self.surnames) if p)


class ImportBatch(Base):
    """One confirmed import of one file, with its full report."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120), default="")
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    file_kind: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str] = mapped_column(String(40), default="")
    delimiter: Mapped[str] = mapped_column(String(4), default="")
    period: Mapped[str | None] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(20))  # "completa" | "solo_validas"
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    n_valid: Mapped[int] = mapped_column(Integer, default=0)
    n_rejected: Mapped[int] = mapped_column(Integer, default=0)
    n_new: Mapped[int] = mapped_column(Integer, default=0)
    n_updated: Mapped[int] = mapped_column(Integer, default=0)
    n_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    n_missing: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict] = mapped_column(default=dict)
    geocode_summary: Mapped[dict] = mapped_column(default=dict)


class Case(Base):
    """The team's case for one student: school, home, classification, location."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), unique=True)
    rbd: Mapped[int | None] = mapped_column(Integer, index=True)
    grade_label: Mapped[str] = mapped_column(String(60), default="")
    grade_level: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(20), default="matriculado")
    last_enrolment_year: Mapped[int | None] = mapped_column(SmallInteger)
    last_grade_passed: Mapped[int | None] = mapped_column(SmallInteger)
    address: Mapped[str] = mapped_column(String(300), default="")
    sector: Mapped[str] = mapped_column(String(200), default="")
    comuna: Mapped[str] = mapped_column(String(100), default="", index=True)
    island: Mapped[str] = mapped_column(String(100), default="", index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    geocode_method: Mapped[str] = mapped_column(String(20), default="sin_ubicacion")
    geocode_score: Mapped[float] = mapped_column(Float, default=0.0)
    geocode_match: Mapped[str] = mapped_column(String(200), default="")
    geocode_source: Mapped[str] = mapped_column(String(300), default="")
    geocode_note: Mapped[str] = mapped_column(String(300), default="")
    located_by: Mapped[str] = mapped_column(String(120), default="")
    located_at: Mapped[dt.datetime | None] = mapped_column()
    latest_period: Mapped[str | None] = mapped_column(String(7))
    latest_pct: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(20), default="sin_dato", index=True)
    riesgosa: Mapped[bool] = mapped_column(Boolean, default=False)
    rezago: Mapped[int | None] = mapped_column(SmallInteger)
    eligible_reinsercion: Mapped[bool | None] = mapped_column(Boolean)
    eligible_aulas: Mapped[bool | None] = mapped_column(Boolean)
    eligibility_notes: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    rules_version: Mapped[str] = mapped_column(String(200), default="")
    in_latest_list: Mapped[bool] = mapped_column(Boolean, default=True)
    first_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    last_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    stage: Mapped[str] = mapped_column(String(30), default="alerta", index=True)
    stage_since: Mapped[dt.datetime | None] = mapped_column()
    closed_reason: Mapped[str] = mapped_column(String(40), default="")
    location_doubtful: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - optimistic locking

    student: Mapped[Student] = relationship(back_populates="case")
    attendance: Mapped[list[Attendance]] = relationship(
        back_populates="case", order_by="Attendance.period"
    )
    contacts: Mapped[list[Contact]] = relationship(back_populates="case")
    changes: Mapped[list[Change]] = relationship(back_populates="case", order_by="Change.id.desc()")


class Attendance(Base):
    """Attendance of one case in one month (the history of every import)."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("case_id", "period"),
        # read in order by the diagnosis' GROUP BY period, pct (migration 0006_diag21speed_…)
        Index("ix_attendance_period_pct", "period", "pct"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    pct: Mapped[float | None] = mapped_column(Float)
    days_present: Mapped[int | None] = mapped_column(SmallInteger)
    days_total: Mapped[int | None] = mapped_column(SmallInteger)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))

    case: Mapped[Case] = relationship(back_populates="attendance")


class Contact(Base):
    """A way to reach the family (guardian and phone), as imported or entered."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="apoderado")
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="contacts")


class Change(Base):
    """Append-only history: one field of one case changed, by whom, when, from what source."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120), default="")
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    source: Mapped[str] = mapped_column(String(20))  # "importacion" | "manual"
    field: Mapped[str] = mapped_column(String(60))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="changes")


class HeaderMapping(Base):
    """A column mapping one account chose for files with these headers, reused by it only.

    `owner` is the account's user name ("" = saved before mappings had owners, or by
    the command line); another account's mapping never applies to an import.
    """

    __tablename__ = "header_mappings"
    __table_args__ = (UniqueConstraint("owner", "signature"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(60), default="", server_default="")
    signature: Mapped[str] = mapped_column(String(32))
    mapping: Mapped[dict] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column()


class GazetteerRow(Base):
    """A gazetteer entry of the team: imported, confirmed, or another source's entry retired.

    ``kind`` is ``importado`` (a row of a gazetteer file: ``filename``, ``row``,
    ``source`` the declared source), ``confirmado`` (``origin`` ``pin``,
    ``gps`` or ``correccion``; ``address_key`` of the home for a pin or a GPS
    fix, ``case_id`` the case it came from) or ``retiro`` (``ref`` is the
    retired entry of another source, e.g. ``WOF 1293071993``). Never deleted:
    removing sets ``retired`` with who and when. Points in WGS84.
    """

    __tablename__ = "gazetteer_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    origin: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    comuna: Mapped[str] = mapped_column(String(100), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300), default="")
    ref: Mapped[str] = mapped_column(String(300), default="")
    filename: Mapped[str] = mapped_column(String(255), default="")
    row: Mapped[int | None] = mapped_column(Integer)
    address_key: Mapped[str] = mapped_column(String(600), default="")
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_by: Mapped[str] = mapped_column(String(120), default="")
    retired_at: Mapped[dt.datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - optimistic locking


class GestorRow(Base):
    """A gestor of the team: base, working pattern, vehicle and skills."""

    __tablename__ = "gestores"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    base_label: Mapped[str] = mapped_column(String(120))
    base_lon: Mapped[float] = mapped_column(Float)
    base_lat: Mapped[float] = mapped_column(Float)
    comuna: Mapped[str] = mapped_column(String(100), default="")
    weekdays: Mapped[str] = mapped_column(String(40), default="lu,ma,mi,ju,vi")
    start: Mapped[str] = mapped_column(String(5), default="08:30")
    end: Mapped[str] = mapped_column(String(5), default="17:30")
    lunch_min: Mapped[int] = mapped_column(Integer, default=45)
    vehicle: Mapped[bool] = mapped_column(Boolean, default=True)
    skills: Mapped[str] = mapped_column(String(200), default="")
    max_visits: Mapped[int] = mapped_column(Integer, default=6)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class PlanRow(Base):
    """A week's plan: its inputs, the job that computes it, the result and its status."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="borrador")  # publicado, archivado
    job_state: Mapped[str] = mapped_column(String(20), default="en_cola")  # calculando, listo...
    job_progress: Mapped[float] = mapped_column(Float, default=0.0)
    job_message: Mapped[str] = mapped_column(String(300), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    published_at: Mapped[dt.datetime | None] = mapped_column()
    published_by: Mapped[str] = mapped_column(String(120), default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    stops: Mapped[list[PlanStop]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanStop.seq"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's pattern


class PlanStop(Base):
    """One visit of a plan (mirrors the result JSON for queries: who visits which case when)."""

    __tablename__ = "plan_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    gestor_code: Mapped[str] = mapped_column(String(40), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    seq: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))

    plan: Mapped[PlanRow] = relationship(back_populates="stops")


class User(Base):
    """An account: role, comunas in scope, and for gestores the gestor they are.

    ``comunas`` is ``*`` (every comuna) or names separated by ``;``. ``auth_epoch``
    is part of the session id: raising it (password change, disabling) ends every
    open session of the account.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # admin | profesional | gestor | mesa
    comunas: Mapped[str] = mapped_column(String(500), default="*")
    gestor_code: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's pattern

    @property
    def comuna_list(self) -> list[str]:
        """Comunas in scope; empty when the account covers every comuna."""
        return (
            []
            if self.comunas.strip() == "*"
            else [c.strip() for c in self.comunas.split(";") if c.strip()]
        )


class AuditEntry(Base):
    """Append-only record of who viewed, changed or exported personal data (and logins)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(60), default="", index=True)
    role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(20))  # ver | cambiar | exportar | acceso | cuentas
    target: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(60), default="")
    n_records: Mapped[int] = mapped_column(Integer, default=0)
    case_ids: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")


class VisitRecord(Base):
    """One visit as recorded on the phone, stored once by the UUID the device made.

    Never updated: an edit is a new record naming the one it ``corrects``.
    ``device_at`` is the phone's clock, ``received_at`` the server's;
    ``future_clock`` flags a phone ahead of the server. Proof of visit:
    ``distance_m`` from the GPS point (WGS84, ``accuracy_m`` metres) to the
    case's point at receipt, ``far`` beyond the rules' threshold,
    ``planned_at`` the planned start of the nearest stop of this gestor
    (local time, as ``PlanStop.start_at``) and ``minutes_from_plan``.
    ``conflict`` says why the case was no longer the gestor's when it arrived.
    """

    __tablename__ = "visit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    gestor_code: Mapped[str] = mapped_column(String(40), default="", index=True)
    username: Mapped[str] = mapped_column(String(60), default="")
    outcome: Mapped[str] = mapped_column(String(30))
    contacted: Mapped[str] = mapped_column(String(200), default="")
    barriers: Mapped[list] = mapped_column(JSON, default=list)
    referral: Mapped[dict] = mapped_column(default=dict)
    agreement: Mapped[str] = mapped_column(Text, default="")
    next_step: Mapped[str] = mapped_column(Text, default="")
    next_date: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    gps_poor: Mapped[bool] = mapped_column(Boolean, default=False)
    device_at: Mapped[dt.datetime] = mapped_column()
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    future_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    corrects: Mapped[str | None] = mapped_column(String(36))
    distance_m: Mapped[float | None] = mapped_column(Float)
    far: Mapped[bool] = mapped_column(Boolean, default=False)
    planned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    minutes_from_plan: Mapped[float | None] = mapped_column(Float)
    conflict: Mapped[str] = mapped_column(String(200), default="")
    rules_version: Mapped[str] = mapped_column(String(40), default="")


class StageChange(Base):
    """A stage change of a case: proposed (by a visit or a re-import) or decided by a person.

    ``status`` is ``propuesta`` until the profesional confirms it
    (``confirmada``, maybe to another stage: ``to_stage`` then holds the one
    chosen and ``proposed_stage`` the one proposed) or discards it
    (``descartada``). Manual changes are stored ``confirmada``.
    """

    __tablename__ = "case_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(20))  # visita | importacion | manual
    actor: Mapped[str] = mapped_column(String(120), default="")
    from_stage: Mapped[str] = mapped_column(String(30))
    proposed_stage: Mapped[str] = mapped_column(String(30))
    to_stage: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="propuesta")
    visit_uuid: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    decided_by: Mapped[str] = mapped_column(String(120), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column()


class CoverageService(Base):
    """A service a team imported or added by hand, or the retirement of a bundled one.

    ``origin`` is ``importado``, ``manual`` or ``fuente`` (a bundled service,
    stored only to retire it); ``source`` says where it came from.
    """

    __tablename__ = "coverage_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(String(80), unique=True)
    service_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    comuna_name: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    location: Mapped[str] = mapped_column(String(20), default="manual")
    location_note: Mapped[str] = mapped_column(String(300), default="")
    days: Mapped[str] = mapped_column(String(40), default="lu,ma,mi,ju,vi")
    opens: Mapped[str] = mapped_column(String(5), default="08:30")
    closes: Mapped[str] = mapped_column(String(5), default="17:00")
    hours_assumed: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(20), default="manual")
    source: Mapped[str] = mapped_column(String(300), default="")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_reason: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's pattern


class CoverageScenario(Base):
    """A named what-if (`layers.coverage.Scenario.to_dict`)."""

    __tablename__ = "coverage_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    spec: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CoverageRun(Base):
    """One coverage computation: parameters, job state and its aggregated result."""

    __tablename__ = "coverage_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    params: Mapped[dict] = mapped_column(JSON)
    scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("coverage_scenarios.id", ondelete="SET NULL")
    )
    job_state: Mapped[str] = mapped_column(String(20), default="en_cola")
    job_progress: Mapped[float] = mapped_column(Float, default=0.0)
    job_message: Mapped[str] = mapped_column(String(300), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CoverageMapFile(Base):
    """A printable map (PDF or PNG) of a coverage run, made by a background job.

    ``scope_key`` says for whom it was drawn (``exacto`` for staff, ``mesa`` and
    its comunas otherwise): a file is only handed to accounts with the same key.
    """

    __tablename__ = "coverage_map_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("coverage_runs.id", ondelete="CASCADE"))
    fmt: Mapped[str] = mapped_column(String(8))
    scope_key: Mapped[str] = mapped_column(String(400))
    suppression_k: Mapped[int] = mapped_column(Integer, default=10)
    job_state: Mapped[str] = mapped_column(String(20), default="en_cola")
    job_progress: Mapped[float] = mapped_column(Float, default=0.0)
    job_message: Mapped[str] = mapped_column(String(300), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TransitFeedRow(Base):
    """An imported GTFS feed: the zip as received, its provenance and a summary.

    The zip was validated whole (`routing.gtfs.read_gtfs`) before it was stored;
    the travel model reads it back from `content`.
    """

    __tablename__ = "transit_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(500), default="")  # publisher, date, licence
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    summary: Mapped[dict] = mapped_column(JSON)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(120), default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class TransitStopRow(Base):
    """A stop of the entered bus and colectivo lines (WGS84) and where its location comes from."""

    __tablename__ = "transit_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(300))  # a source or "supuesto"
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class TransitLineRow(Base):
    """One row of the entered lines table (a line, direction and service period).

    `values` holds every column of `routing.lines.LINE_COLUMNS` as typed (stops,
    minutes, days, departures, each with its source or ``supuesto``).
    """

    __tablename__ = "transit_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(String(60), unique=True)
    line_id: Mapped[str] = mapped_column(String(60), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    values: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120), default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class JobRow(Base):
    """One piece of long work run outside a request (`geo_app.jobs`): its input, state and result.

    `key` makes a job idempotent: asking twice for the same work (confirming an
    import twice) finds the same row. `attempt` counts retries; a run only writes
    while its attempt is the row's. `done`/`total` count rows (or steps);
    `error` is the Spanish reason shown when the job failed; `output` holds a
    file the job produced (a PDF report).
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    owner: Mapped[str] = mapped_column(String(120), default="")
    state: Mapped[str] = mapped_column(String(20), default="en_cola")  # en_curso, listo, fallido
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(300), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[dict | None] = mapped_column(JSON)
    output: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
