"""What one account may see: its role, its comunas and, for a gestor, its own cases (no Flask).

Every query over cases goes through `Scope.cases`, in pages, JSON, exports and
map layers alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.store.models import Case
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop

__all__ = ["Scope", "assigned_cases", "weeks_back"]


def assigned_cases(gestor_code: str, since: dt.date | None = None) -> Select:
    """Case ids in the published plans' stops of one gestor, of weeks from `since` on.

    `since` (a Monday; None = every week) bounds a gestor's access to the current and
    recent weeks: the cases of an old plan are no longer theirs to open.
    """
    query = (
        select(PlanStop.case_id)
        .join(PlanRow)
        .where(PlanRow.status == "publicado", PlanStop.gestor_code == gestor_code)
    )
    if since is not None:
        query = query.where(PlanRow.week_start >= since)
    return query


def weeks_back(today: dt.date, weeks: int) -> dt.date:
    """Monday of the week `weeks` weeks before `today`'s (0 = this week's Monday)."""
    return today - dt.timedelta(days=today.weekday() + 7 * max(weeks, 0))


@dataclass(frozen=True)
class Scope:
    """What one account may see: its role, its comunas (empty = all) and its gestor code.

    `gestor_since` bounds a gestor's cases to published plans of weeks from that Monday
    on (see `assigned_cases`; None = no bound, for commands and tests).
    """

    username: str
    role: str
    comunas: tuple[str, ...] = ()
    gestor_code: str = ""
    gestor_since: dt.date | None = None

    @property
    def all_comunas(self) -> bool:
        """True when the account is not limited to some comunas."""
        return not self.comunas

    @property
    def sees_people(self) -> bool:
        """True for roles that may see names and single cases (not the mesa)."""
        return self.role in {"admin", "profesional", "gestor"}

    def comuna_allowed(self, comuna: str) -> bool:
        """Tell whether `comuna` is in the account's comunas."""
        return self.all_comunas or comuna in self.comunas

    def cases(self, query: Select) -> Select:
        """Restrict a query over `Case` to the cases this account may see."""
        if self.role == "gestor":
            return query.where(Case.id.in_(assigned_cases(self.gestor_code, self.gestor_since)))
        if not self.all_comunas:
            query = query.where(Case.comuna.in_(self.comunas))
        return query

    def can_see_case(self, session: Session, case_id: int) -> bool:
        """Tell whether this account may open one case."""
        if not self.sees_people:
            return False
        query = self.cases(select(Case.id).where(Case.id == case_id))
        return session.scalar(query) is not None
