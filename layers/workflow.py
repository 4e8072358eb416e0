"""The case workflow as data: stages, deadlines, what a visit proposes, closing (pure).

Rules in ``layers/rules/flujo_casos_2026.toml`` (its ``source`` names where
the stages and the 3-month follow-up come from). Stages go forward
alerta → contacto → diagnostico → accion → revinculado → seguimiento →
cerrado; a visit only ever proposes a later stage, the profesional confirms
or corrects. Deadlines are days in a stage (0 = none), overridable by the
app's ``CASE_STAGE_DAYS`` setting.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "WORKFLOW_RULES",
    "Workflow",
    "WorkflowError",
    "load_workflow",
]

RULES_DIR = Path(__file__).resolve().parent / "rules"
WORKFLOW_RULES = "flujo_casos_2026.toml"


class WorkflowError(ValueError):
    """A stage change the rules do not allow; the message (Spanish) says why."""


@dataclass(frozen=True)
class Workflow:
    """One version of the workflow rules."""

    version: str
    source: str
    stages: dict[str, tuple[str, int]]  # key -> (label, deadline days; 0 = none)
    closing: dict[str, tuple[str, bool]]  # key -> (label, needs follow-up done)
    contact_outcomes: frozenset[str]
    with_contact: str
    with_barriers: str
    with_referral: str
    min_followup_months: int
    attending_pct: float
    followup_cadence_days: int = 30
    retry_split: dt.time = dt.time(13, 0)

    def retry_window(self, last_local: dt.datetime, start: dt.time, end: dt.time):
        """Window for another try after nobody was home at `last_local` (local time).

        The other half of the gestor's working day (`start`-`end`), split at
        ``retry_split``.
        """
        if last_local.time() < self.retry_split:
            return (self.retry_split, end)
        return (start, self.retry_split)

    @property
    def order(self) -> list[str]:
        """Stage keys in order."""
        return list(self.stages)

    def label(self, stage: str) -> str:
        """Spanish label of a stage (the key itself when unknown)."""
        return self.stages.get(stage, (stage, 0))[0]

    def rank(self, stage: str) -> int:
        """Position of a stage (unknown stages rank first)."""
        return self.order.index(stage) if stage in self.stages else 0

    def deadline_days(self, stage: str, overrides: dict | None = None) -> int:
        """Days allowed in `stage` (0 = no deadline); `overrides` maps stage -> days."""
        if overrides and stage in overrides:
            return int(overrides[stage])
        return self.stages.get(stage, ("", 0))[1]

    def due(self, stage: str, since: dt.datetime, overrides: dict | None = None):
        """Deadline (aware datetime) of a stage entered at `since`, or None."""
        days = self.deadline_days(stage, overrides)
        return since + dt.timedelta(days=days) if days else None

    def late(
        self, stage: str, since: dt.datetime, now: dt.datetime, overrides: dict | None = None
    ) -> bool:
        """Tell whether the case has been in `stage` longer than its deadline."""
        due = self.due(stage, since, overrides)
        return due is not None and now > due

    def followup_end(self, since: dt.datetime) -> dt.datetime:
        """End of the minimum follow-up that started at `since` (calendar months)."""
        month = since.month - 1 + self.min_followup_months
        year, month = since.year + month // 12, month % 12 + 1
        day = min(since.day, 28)
        return since.replace(year=year, month=month, day=day)

    def proposed_by_visit(
        self, stage: str, outcome: str, *, barriers: bool, referral: bool
    ) -> str | None:
        """Stage a stored visit proposes for a case in `stage`, or None (never backwards)."""
        if outcome not in self.contact_outcomes:
            return None
        target = self.with_contact
        if barriers:
            target = self.with_barriers
        if referral:
            target = self.with_referral
        return target if self.rank(target) > self.rank(stage) else None

    def check_change(
        self, stage: str, to: str, *, reason: str, since: dt.datetime, now: dt.datetime
    ) -> None:
        """Check a confirmed change from `stage` to `to`.

        Raises
        ------
        WorkflowError
            Unknown stage; closing without a known reason; closing as
            «revinculado y estable» before the follow-up months are done.
        """
        if to not in self.stages:
            msg = f"Etapa «{to}» desconocida ({self.version})."
            raise WorkflowError(msg)
        if to != "cerrado":
            return
        if reason not in self.closing:
            msg = "Para cerrar el caso elija un motivo de cierre."
            raise WorkflowError(msg)
        if self.closing[reason][1]:
            end = self.followup_end(since)
            if stage != "seguimiento" or now < end:
                msg = (
                    f"«{self.closing[reason][0]}» requiere {self.min_followup_months} meses de "
                    f"seguimiento (bases 2020): "
                    + (
                        f"se cumplen el {end:%d-%m-%Y}."
                        if stage == "seguimiento"
                        else "el caso no está en seguimiento."
                    )
                )
                raise WorkflowError(msg)


@cache
def load_workflow(name: str = WORKFLOW_RULES) -> Workflow:
    """Read the workflow rules from ``layers/rules`` (cached).

    Raises
    ------
    ValueError
        The file lacks a version or the ``alerta``/``cerrado`` stages.
    """
    with (RULES_DIR / name).open("rb") as handle:
        data = tomllib.load(handle)
    stages = {k: (str(v[0]), int(v[1])) for k, v in data["stages"].items()}
    if not data.get("version") or "alerta" not in stages or "cerrado" not in stages:
        msg = f"{name}: faltan 'version' o las etapas alerta/cerrado"
        raise ValueError(msg)
    visits = data["visits"]
    return Workflow(
        version=data["version"],
        source=data.get("source", ""),
        stages=stages,
        closing={k: (str(v[0]), bool(v[1])) for k, v in data["closing"].items()},
        contact_outcomes=frozenset(visits["contact_outcomes"]),
        with_contact=visits["with_contact"],
        with_barriers=visits["with_barriers"],
        with_referral=visits["with_referral_or_agreement"],
        min_followup_months=int(data["min_followup_months"]),
        attending_pct=float(data["attendance"]["attending_pct"]),
        followup_cadence_days=int(data.get("followup_cadence_days", 30)),
        retry_split=dt.time.fromisoformat(data.get("retry_split", "13:00")),
    )
