"""Weekly visit planning for several gestores across islands with timetabled boats.

The week is an OR-Tools routing problem whose vehicles are *gestor-days*
(one gestor on one working day, from base to base inside the working hours,
with a lunch break and a cap on visits). Visits are optional with a penalty that
grows with their priority, so the solver chooses which cases fit the week.

Boats make travel time depend on the time of day, which OR-Tools cannot model
directly. The planner therefore works in three steps:

1. **Estimate**: for every day and travel mode, a matrix of the *shortest*
   door-to-door time over departures sampled through the working day (every
   ``PlanParams.sample_min``). Boat waits are included at their best, so the
   estimate is optimistic, and a pair with no boat at all that day is
   forbidden.
2. **Solve**: OR-Tools (parallel cheapest insertion, then guided local search)
   on those matrices, with time windows, skills, required gestores, pins,
   capacity, lunch breaks, balance and preferred-gestor costs.
3. **Verify and repair**: every day is replayed through
   :meth:`routing.TravelModel.journey` with the real departures, waits and
   crossings (:func:`simulate_day`). A day that misses a boat, a time window,
   lunch or the end of the working day loses its least important visit until
   it works; dropped visits are then tried again in every other day by exact
   replay. No infeasible day is ever returned.

Unassigned visits get a reason worked out by replaying the visit alone.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

import numpy as np

from routing._errors import RoutingInputError
from routing._ortools import read_routes
from routing._ortools import search_parameters
from routing.boats import Suspension
from routing.model import DAY_NAMES
from routing.model import Leg
from routing.model import TravelModel

__all__ = [
    "DayPlan",
    "Gestor",
    "Pin",
    "Plan",
    "PlanParams",
    "Stay",
    "Stop",
    "Unassigned",
    "Visit",
    "assemble",
    "day_label",
    "lunch_problem",
    "plan_week",
    "replan",
    "simulate_day",
]

DAY_S = 86400
MUST_PENALTY = 10**9
UNREACHABLE_S = 3 * DAY_S

REASONS = {
    "sin_gestor": "ningún gestor disponible tiene lo que la visita requiere",
    "gestor_ausente": "el gestor requerido no está disponible en la semana",
    "sin_dia": "ningún gestor trabaja los días en que la visita es posible",
    "sin_barco": "no hay cómo ir y volver en el día",
    "fuera_de_horario": "no cabe en la jornada ni sola",
    "capacidad": "la semana no alcanza",
    "fijada_no_disponible": "fijada a un gestor o día que ya no está disponible",
    "retirada": "retirada a mano del plan",
}


# -- inputs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visit:
    """A candidate home visit.

    `window` is a time-of-day span in which the visit must *start*; `days`
    restricts the dates; `skills` must all be held by the gestor (the skill
    ``"vehiculo"`` means the gestor has a vehicle).
    """

    id: str
    lon: float
    lat: float
    label: str = ""
    duration_min: int = 45
    priority: float = 1.0
    window: tuple[dt.time, dt.time] | None = None
    days: frozenset[dt.date] | None = None
    must: bool = False
    preferred_gestor: str | None = None
    required_gestor: str | None = None
    skills: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        """Return the label, or the id when there is none."""
        return self.label or self.id

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (inverse of :meth:`from_dict`)."""
        return {
            "id": self.id,
            "lon": self.lon,
            "lat": self.lat,
            "label": self.label,
            "duration_min": self.duration_min,
            "priority": self.priority,
            "window": [t.isoformat("minutes") for t in self.window] if self.window else None,
            "days": sorted(d.isoformat() for d in self.days) if self.days is not None else None,
            "must": self.must,
            "preferred_gestor": self.preferred_gestor,
            "required_gestor": self.required_gestor,
            "skills": sorted(self.skills),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Visit:
        """Build a visit from :meth:`to_dict` output."""
        window = data.get("window")
        days = data.get("days")
        return cls(
            str(data["id"]),
            float(data["lon"]),
            float(data["lat"]),
            label=data.get("label", ""),
            duration_min=int(data.get("duration_min", 45)),
            priority=float(data.get("priority", 1.0)),
            window=tuple(dt.time.fromisoformat(t) for t in window) if window else None,
            days=frozenset(dt.date.fromisoformat(d) for d in days) if days is not None else None,
            must=bool(data.get("must", False)),
            preferred_gestor=data.get("preferred_gestor"),
            required_gestor=data.get("required_gestor"),
            skills=frozenset(data.get("skills", ())),
        )


@dataclass(frozen=True)
class Gestor:
    """A gestor: base, working days and hours, lunch, vehicle, skills and daily cap."""

    id: str
    lon: float
    lat: float
    name: str = ""
    base_label: str = "base"
    weekdays: frozenset[int] = frozenset(range(5))
    start: dt.time = dt.time(8, 30)
    end: dt.time = dt.time(17, 30)
    lunch_earliest: dt.time = dt.time(12, 30)
    lunch_latest: dt.time = dt.time(14, 0)
    lunch_min: int = 45
    vehicle: bool = True
    skills: frozenset[str] = frozenset()
    max_visits: int = 6

    @property
    def takes_lunch(self) -> bool:
        """Whether the shift spans the lunch window (a 14:15–18:00 shift takes none).

        The lunch window is ``lunch_earliest``–``lunch_latest`` (12:30–14:00 by
        default): the whole lunch lies inside it. A shift that starts after the
        window opens or ends before it closes gets no lunch break.
        """
        return (
            self.lunch_min > 0
            and self.start <= self.lunch_earliest
            and self.end >= self.lunch_latest
        )

    def lunch_bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Return (earliest start, latest start) of lunch on `day`, so it ends by ``lunch_latest``.

        A lunch longer than the window starts when the window opens (and
        :func:`lunch_problem` calls it outside the window).
        """
        earliest = dt.datetime.combine(day, self.lunch_earliest)
        latest = dt.datetime.combine(day, self.lunch_latest) - dt.timedelta(minutes=self.lunch_min)
        return earliest, max(earliest, latest)

    @property
    def all_skills(self) -> frozenset[str]:
        """Skills including ``"vehiculo"`` when the gestor has one."""
        return self.skills | ({"vehiculo"} if self.vehicle else set())

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (inverse of :meth:`from_dict`)."""
        out = {
            "id": self.id,
            "lon": self.lon,
            "lat": self.lat,
            "name": self.name,
            "base_label": self.base_label,
            "weekdays": sorted(self.weekdays),
            "vehicle": self.vehicle,
            "skills": sorted(self.skills),
            "max_visits": self.max_visits,
            "lunch_min": self.lunch_min,
        }
        for key in ("start", "end", "lunch_earliest", "lunch_latest"):
            out[key] = getattr(self, key).isoformat("minutes")
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Gestor:
        """Build a gestor from :meth:`to_dict` output."""
        times = {
            key: dt.time.fromisoformat(data[key])
            for key in ("start", "end", "lunch_earliest", "lunch_latest")
            if data.get(key)
        }
        return cls(
            str(data["id"]),
            float(data["lon"]),
            float(data["lat"]),
            name=data.get("name", ""),
            base_label=data.get("base_label", "base"),
            weekdays=frozenset(int(d) for d in data.get("weekdays", range(5))),
            vehicle=bool(data.get("vehicle", True)),
            skills=frozenset(data.get("skills", ())),
            max_visits=int(data.get("max_visits", 6)),
            lunch_min=int(data.get("lunch_min", 45)),
            **times,
        )


@dataclass(frozen=True)
class Pin:
    """A visit fixed to a gestor and day (already agreed with the family)."""

    visit_id: str
    gestor_id: str
    day: dt.date


@dataclass(frozen=True)
class Stay:
    """An overnight stay away from base, decided by the profesional.

    The gestor's day `night` ends at the stay instead of the base, and the
    next day (``night + 1``, which must be a working day of the plan) starts
    there. This is how a place whose boats do not allow going and coming back
    in one day gets visited. The gestor starts the next day with whatever the
    way there left them: on foot, with the vehicle parked at the ramp, when
    the only way from the base crosses on a passenger launch. `leave` is the
    hour that morning starts, when it is not the gestor's usual start: an
    island's only boat back may sail before the working day begins.
    """

    gestor_id: str
    night: dt.date
    lon: float
    lat: float
    label: str = "alojamiento"
    leave: dt.time | None = None

    @property
    def morning(self) -> dt.date:
        """The day that starts at the stay."""
        return self.night + dt.timedelta(days=1)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (inverse of :meth:`from_dict`)."""
        return {
            "gestor_id": self.gestor_id,
            "noche": self.night.isoformat(),
            "lon": self.lon,
            "lat": self.lat,
            "lugar": self.label,
            "sale": self.leave.strftime("%H:%M") if self.leave else None,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Stay:
        """Build a stay from :meth:`to_dict` output."""
        return cls(
            str(data["gestor_id"]),
            dt.date.fromisoformat(data["noche"]),
            float(data["lon"]),
            float(data["lat"]),
            data.get("lugar", "alojamiento"),
            dt.time.fromisoformat(data["sale"]) if data.get("sale") else None,
        )

    def start(self, gestor: Gestor) -> dt.time:
        """Return the hour `gestor`'s morning after starts: `leave`, or the usual start."""
        return self.leave or gestor.start


@dataclass(frozen=True)
class PlanParams:
    """Weights and limits of the weekly plan.

    Leaving a visit out costs ``priority_weight × (visit_value_min + priority
    × minutes_per_priority)`` minutes of travel. The base value (a working day)
    makes any visit that fits worth its travel; priority then decides between
    visits that compete for the same hours: with the defaults a case of
    priority 50 outweighs one of priority 10 by 400 minutes of extra travel.
    ``balance_weight`` costs minutes per visit above the even share of a
    gestor-day;
    ``preferred_penalty_min`` is what assigning a visit to someone other than
    its preferred gestor costs.
    """

    seconds: float = 10.0
    priority_weight: float = 1.0
    visit_value_min: float = 480.0
    minutes_per_priority: float = 10.0
    travel_weight: float = 1.0
    balance_weight: float = 30.0
    preferred_penalty_min: float = 60.0
    sample_min: int = 30
    breaks: bool = True
    solution_limit: int | None = None


# -- outputs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stop:
    """One visit in a day: how the gestor gets there and when."""

    visit_id: str
    label: str
    lon: float
    lat: float
    arrive_at: dt.datetime
    start_at: dt.datetime
    depart_at: dt.datetime
    legs: tuple[Leg, ...] = ()

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "visita_id": self.visit_id,
            "etiqueta": self.label,
            "lon": self.lon,
            "lat": self.lat,
            "llega": self.arrive_at.isoformat(),
            "inicia": self.start_at.isoformat(),
            "sale": self.depart_at.isoformat(),
            "tramos": [leg.to_dict() for leg in self.legs],
        }


@dataclass(frozen=True)
class DayPlan:
    """One gestor's day, replayed through the travel model (times are exact)."""

    gestor_id: str
    gestor_name: str
    day: dt.date
    stops: tuple[Stop, ...]
    back: tuple[Leg, ...]
    start_at: dt.datetime
    end_at: dt.datetime
    lunch: tuple[dt.datetime, dt.datetime] | None
    feasible: bool
    problem: str = ""
    last_boat: dict | None = None
    start_place: str = ""  # the stay the day starts at; empty: the base
    end_place: str = ""  # the stay the day ends at; empty: the base

    @property
    def moves(self) -> bool:
        """Whether the day is worth showing: it has visits or takes the gestor to or from a stay."""
        return bool(self.stops or self.start_place or self.end_place)

    @property
    def legs(self) -> tuple[Leg, ...]:
        """All legs of the day, in order."""
        return tuple(leg for s in self.stops for leg in s.legs) + self.back

    def seconds(self, kind: str) -> float:
        """Total seconds of one leg kind (conducir, caminar, barco, espera)."""
        return sum(leg.duration_s for leg in self.legs if leg.kind == kind)

    @property
    def distance_m(self) -> float:
        """Distance travelled, boats included."""
        return sum(leg.distance_m for leg in self.legs)

    @property
    def boats(self) -> tuple[Leg, ...]:
        """The boat legs taken, in order."""
        return tuple(leg for leg in self.legs if leg.kind == "barco")

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "gestor_id": self.gestor_id,
            "gestor": self.gestor_name,
            "dia": self.day.isoformat(),
            "inicio": self.start_at.isoformat(),
            "fin": self.end_at.isoformat(),
            "almuerzo": [t.isoformat() for t in self.lunch] if self.lunch else None,
            "factible": self.feasible,
            "problema": self.problem,
            "paradas": [s.to_dict() for s in self.stops],
            "regreso": [leg.to_dict() for leg in self.back],
            "ultimo_barco": self.last_boat,
            "sale_de": self.start_place or None,
            "duerme_en": self.end_place or None,
            "totales": {
                "conducir_s": self.seconds("conducir"),
                "caminar_s": self.seconds("caminar"),
                "barco_s": self.seconds("barco"),
                "espera_s": self.seconds("espera"),
                "distancia_m": self.distance_m,
                "barcos": len(self.boats),
            },
        }


@dataclass(frozen=True)
class Unassigned:
    """A visit left out of the week, with the reason in Spanish."""

    visit_id: str
    reason: str  # a key of REASONS
    detail: str

    @property
    def message(self) -> str:
        """Return the Spanish explanation."""
        head = REASONS[self.reason]
        return f"{head}: {self.detail}" if self.detail else head

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "visita_id": self.visit_id,
            "motivo": self.reason,
            "detalle": self.message,
            "dato": self.detail,
        }


@dataclass
class Plan:
    """A week's plan: one :class:`DayPlan` per gestor-day used, plus what was left out."""

    days: list[DayPlan]
    unassigned: list[Unassigned]
    visits: dict[str, Visit]
    approximate: bool = False
    stats: dict = field(default_factory=dict)
    stays: list[Stay] = field(
        default_factory=list
    )  # the stays the plan used (re-plans change them)
    notes: list[str] = field(default_factory=list)  # what a re-plan changed and why (Spanish)
    decisions: list[str] = field(default_factory=list)  # what the profesional must decide

    def assigned_ids(self) -> set[str]:
        """Return the ids of the visits in the plan."""
        return {s.visit_id for d in self.days for s in d.stops}

    def totals(self) -> dict:
        """Return the week's totals."""
        ids = self.assigned_ids()
        return {
            "visitas": len(ids),
            "sin_asignar": len(self.unassigned),
            "prioridad_cubierta": round(sum(self.visits[i].priority for i in ids), 1),
            "prioridad_total": round(sum(v.priority for v in self.visits.values()), 1),
            "conducir_s": sum(d.seconds("conducir") for d in self.days),
            "caminar_s": sum(d.seconds("caminar") for d in self.days),
            "barco_s": sum(d.seconds("barco") for d in self.days),
            "espera_s": sum(d.seconds("espera") for d in self.days),
            "distancia_m": sum(d.distance_m for d in self.days),
            "dias_con_barco": sum(1 for d in self.days if d.boats),
        }

    def objective(self, params: PlanParams | None = None) -> float:
        """Return the plan's cost in seconds: travel plus penalties of what was left out."""
        params = params or PlanParams()
        travel = sum(
            d.seconds("conducir") + d.seconds("caminar") + d.seconds("barco") for d in self.days
        )
        dropped = sum(_penalty(self.visits[u.visit_id], params) for u in self.unassigned)
        return params.travel_weight * travel + dropped

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "dias": [d.to_dict() for d in self.days],
            "sin_asignar": [u.to_dict() for u in self.unassigned],
            "totales": self.totals(),
            "red_aproximada": self.approximate,
            "estadisticas": self.stats,
            "alojamientos": [s.to_dict() for s in self.stays],
            "avisos": list(self.notes),
            "decisiones": list(self.decisions),
        }


# -- exact replay of one day ----------------------------------------------------------------
@dataclass
class _Clock:
    """Mutable state while replaying a day."""

    t: dt.datetime
    here: tuple[float, float]
    here_name: str
    on_foot: bool
    parked: tuple[float, float] | None = None
    lunch: tuple[dt.datetime, dt.datetime] | None = None


def simulate_day(
    model: TravelModel,
    gestor: Gestor,
    day: dt.date,
    visits: Iterable[Visit],
    *,
    last_boat: bool = False,
    stays: Iterable[Stay] = (),
    arrivals: dict | None = None,
) -> DayPlan:
    """Replay a gestor's day visit by visit with the real boat departures.

    Returns a :class:`DayPlan` whose ``feasible`` says whether the day works
    and ``problem`` says, in Spanish, why not. With `last_boat`, a day whose
    way home takes a boat also gets the latest time to leave the last visit.
    The day starts at the base, or at the stay of the night before, and ends
    at the base, or at the stay of that night (`stays`). `arrivals` maps a
    stay to its :func:`_arrival_mode`, worked out once by a caller that replays
    many times; without it, the way from the base to the stay is replayed here.
    """
    visits = list(visits)
    morning, night = _day_stays(gestor, day, stays)
    if morning is None:
        on_foot, parked = None, None
    elif arrivals is not None and morning in arrivals:
        on_foot, parked = arrivals[morning]
    else:
        on_foot, parked = _arrival_mode(model, gestor, morning)
    clock = _Clock(
        dt.datetime.combine(day, morning.start(gestor) if morning else gestor.start),
        (morning.lon, morning.lat) if morning else (gestor.lon, gestor.lat),
        morning.label if morning else gestor.base_label,
        on_foot=(not gestor.vehicle) if on_foot is None else on_foot,
        parked=parked,
    )
    start_at = clock.t
    stops: list[Stop] = []
    problem = ""
    if len(visits) > gestor.max_visits:
        problem = f"{len(visits)} visitas superan el máximo diario de {gestor.max_visits}"
    for visit in visits:
        _lunch_before_leaving(clock, gestor)
        stop, why = _go_visit(model, gestor, clock, visit)
        if stop is None:
            problem = problem or why
            break
        stops.append(stop)
        problem = problem or why
    home = _home(gestor, night)
    back, why = _go_home(model, gestor, clock, home) if len(stops) == len(visits) else ((), "")
    problem = problem or why
    end = dt.datetime.combine(day, gestor.end)
    if not problem and clock.t.date() > day:
        problem = (
            f"llega a {home[2]} recién el {day_label(clock.t.date())} a las {clock.t:%H:%M}: "
            "no hay barco para volver en el día"
        )
    elif not problem and clock.t > end:
        problem = (
            f"llega a {home[2]} a las {clock.t:%H:%M}, después del fin de la "
            f"jornada ({gestor.end:%H:%M})"
        )
    plan = DayPlan(
        gestor.id,
        gestor.name or gestor.id,
        day,
        tuple(stops),
        tuple(back),
        start_at,
        clock.t,
        clock.lunch,
        feasible=not problem,
        problem=problem,
        start_place=morning.label if morning else "",
        end_place=night.label if night else "",
    )
    if plan.feasible and (why := lunch_problem(gestor, plan)):
        plan = replace(plan, feasible=False, problem=why)
    return with_last_boat(model, gestor, plan, stays) if last_boat else plan


def with_last_boat(
    model: TravelModel, gestor: Gestor, plan: DayPlan, stays: Iterable[Stay] = ()
) -> DayPlan:
    """Add the latest time to leave the last visit, for a feasible day whose way home sails."""
    if not (plan.feasible and plan.stops and any(leg.kind == "barco" for leg in plan.back)):
        return plan
    home = _home(gestor, _day_stays(gestor, plan.day, stays)[1])
    return replace(plan, last_boat=_last_boat(model, gestor, plan.day, plan.stops[-1], home))


def _day_stays(gestor: Gestor, day: dt.date, stays: Iterable[Stay]):
    """Return (the stay the day starts at, the stay it ends at); None means the base."""
    morning = night = None
    for stay in stays:
        if stay.gestor_id == gestor.id:
            if stay.morning == day:
                morning = stay
            elif stay.night == day:
                night = stay
    return morning, night


def _home(gestor: Gestor, night: Stay | None) -> tuple[float, float, str]:
    """Where the day ends: the night's stay or the base."""
    if night is not None:
        return night.lon, night.lat, night.label
    return gestor.lon, gestor.lat, gestor.base_label


def _arrival_mode(model: TravelModel, gestor: Gestor, stay: Stay):
    """Return (on foot, parked at) at a stay, as the way there from the base leaves the gestor."""
    if not gestor.vehicle:
        return True, None
    clock = _Clock(
        dt.datetime.combine(stay.night, gestor.start),
        (gestor.lon, gestor.lat),
        gestor.base_label,
        on_foot=False,
    )
    _travel(model, clock, (stay.lon, stay.lat), stay.label)
    return clock.on_foot, clock.parked


def _lunch_before_leaving(clock: _Clock, gestor: Gestor) -> None:
    """Take lunch now if it is lunch time, it still fits in the window and was not taken."""
    if clock.lunch or not gestor.takes_lunch:
        return
    earliest, latest = gestor.lunch_bounds(clock.t.date())
    if earliest <= clock.t <= latest:
        clock.lunch = (clock.t, clock.t + dt.timedelta(minutes=gestor.lunch_min))
        clock.t = clock.lunch[1]


def _lunch_in_wait(clock: _Clock, gestor: Gestor, legs: Iterable[Leg]) -> None:
    """Take lunch during a wait for a boat, when one is long enough in the lunch window."""
    if clock.lunch or not gestor.takes_lunch:
        return
    earliest, latest = gestor.lunch_bounds(clock.t.date())
    length = dt.timedelta(minutes=gestor.lunch_min)
    for leg in legs:
        begin = max(leg.depart_at, earliest)
        if leg.kind == "espera" and begin <= latest and begin + length <= leg.arrive_at:
            clock.lunch = (begin, begin + length)
            return


def _lunch_late(clock: _Clock, gestor: Gestor, start: dt.datetime, busy_until: dt.datetime):
    """Fit lunch before a service starting at `start`; return (new start, problem)."""
    if clock.lunch or not gestor.takes_lunch:
        return start, ""
    earliest, latest = gestor.lunch_bounds(start.date())
    length = dt.timedelta(minutes=gestor.lunch_min)
    if busy_until <= latest:
        return start, ""  # lunch still fits after this
    begin = max(clock.t, earliest)
    if begin > latest:
        return start, _no_lunch(gestor)
    clock.lunch = (begin, begin + length)
    return max(start, begin + length), ""


def _no_lunch(gestor: Gestor) -> str:
    return (
        f"no quedan {gestor.lunch_min} minutos de almuerzo entre {gestor.lunch_earliest:%H:%M} "
        f"y {gestor.lunch_latest:%H:%M}"
    )


def lunch_problem(gestor: Gestor, plan: DayPlan) -> str:
    """Return what is wrong with `plan`'s lunch (Spanish), or "" when it is right.

    A shift that spans the lunch window (:attr:`Gestor.takes_lunch`) has a
    lunch of ``lunch_min`` minutes inside ``lunch_earliest``–``lunch_latest``,
    unless the day is over (home) before the latest start, when the gestor
    lunches at home. A shift that does not span it has none.
    """
    if plan.lunch is None:
        if gestor.takes_lunch and plan.end_at > gestor.lunch_bounds(plan.day)[1]:
            return _no_lunch(gestor)
        return ""
    if not gestor.takes_lunch:
        return (
            f"almuerzo a las {plan.lunch[0]:%H:%M} en un turno ({gestor.start:%H:%M}–"
            f"{gestor.end:%H:%M}) que no abarca la hora de almuerzo "
            f"({gestor.lunch_earliest:%H:%M}–{gestor.lunch_latest:%H:%M})"
        )
    begin, end = plan.lunch
    window = (
        dt.datetime.combine(plan.day, gestor.lunch_earliest),
        dt.datetime.combine(plan.day, gestor.lunch_latest),
    )
    if begin < window[0] or end > window[1]:
        return (
            f"almuerzo {begin:%H:%M}–{end:%H:%M} fuera de la hora de almuerzo "
            f"({gestor.lunch_earliest:%H:%M}–{gestor.lunch_latest:%H:%M})"
        )
    if end - begin < dt.timedelta(minutes=gestor.lunch_min):
        return f"almuerzo de menos de {gestor.lunch_min} minutos"
    return ""


def _travel(model: TravelModel, clock: _Clock, to: tuple[float, float], label: str):
    """Journey from where the clock stands; update position and vehicle state."""
    journey = model.journey(
        clock.here,
        to,
        clock.t,
        on_foot=clock.on_foot,
        vehicle_at=clock.parked,
        labels=(clock.here_name, label),
    )
    if not journey.reachable:
        return None, journey.reason
    for leg in journey.legs:
        if leg.kind == "barco" and not clock.on_foot and _passengers_only(model, leg.line_id):
            clock.parked, clock.on_foot = leg.geometry[0], True
        elif leg.kind == "conducir":
            clock.parked, clock.on_foot = None, False
    clock.t = journey.arrive_at
    clock.here, clock.here_name = to, label
    return journey.legs, ""


def _passengers_only(model: TravelModel, line_id: str) -> bool:
    return any(link.passengers_only for link in model.links if link.line_id == line_id)


def _go_visit(model: TravelModel, gestor: Gestor, clock: _Clock, visit: Visit):
    """Travel to `visit` and do it; return (Stop or None, problem)."""
    legs, why = _travel(model, clock, (visit.lon, visit.lat), visit.name)
    if legs is None:
        return None, f"no se puede llegar a {visit.name}: {why}"
    _lunch_in_wait(clock, gestor, legs)
    arrive = clock.t
    day = arrive.date()
    start = arrive
    if visit.window:
        start = max(start, dt.datetime.combine(day, visit.window[0]))
    duration = dt.timedelta(minutes=visit.duration_min)
    start, problem = _lunch_late(clock, gestor, start, start + duration)
    if visit.window and start > dt.datetime.combine(day, visit.window[1]):
        problem = problem or (
            f"llega a {visit.name} a las {start:%H:%M}, después de su ventana "
            f"({visit.window[0]:%H:%M}–{visit.window[1]:%H:%M})"
        )
    if visit.days is not None and day not in visit.days:
        problem = problem or f"{visit.name} no se puede visitar el {day_label(day)}"
    clock.t = start + duration
    stop = Stop(visit.id, visit.name, visit.lon, visit.lat, arrive, start, clock.t, tuple(legs))
    return stop, problem


def _go_home(model: TravelModel, gestor: Gestor, clock: _Clock, home: tuple[float, float, str]):
    """Travel to where the day ends (base or stay); return (legs, problem)."""
    _lunch_before_leaving(clock, gestor)
    legs, why = _travel(model, clock, home[:2], home[2])
    if legs is None:
        return (), f"no se puede llegar a {home[2]}: {why}"
    _lunch_in_wait(clock, gestor, legs)
    _, problem = _lunch_late(clock, gestor, clock.t, clock.t)
    return legs, problem


def _last_boat(model: TravelModel, gestor: Gestor, day: dt.date, stop: Stop, home) -> dict | None:
    """Latest time to leave the last visit and still be home (or at the stay) by the day's end."""
    found = model.last_boat_home(
        (stop.lon, stop.lat),
        home[:2],
        day,
        latest_arrival=gestor.end,
        on_foot=not gestor.vehicle,
        labels=(stop.label, home[2]),
    )
    if found is None or not found.journey.boat_legs:
        return None
    boat = found.journey.boat_legs[-1]
    return {
        "salir_antes_de": found.leave_by.isoformat(),
        "linea": boat.line_name,
        "desde": boat.start,
        "sale": boat.depart_at.isoformat(),
        "supuesto": boat.assumed,
    }


def day_label(day: dt.date) -> str:
    """Return a short Spanish label such as ``lunes 09-03``."""
    return f"{DAY_NAMES[day.weekday()]} {day:%d-%m}"


# -- the solver -----------------------------------------------------------------------------
@dataclass
class _Week:
    """Everything the solver needs, in index form."""

    model: TravelModel
    visits: list[Visit]
    gestores: list[Gestor]
    vehicles: list[tuple[int, dt.date]]  # (gestor index, day)
    params: PlanParams
    allowed: dict[int, list[int]] = field(default_factory=dict)  # visit index -> vehicles
    matrices: dict[tuple[dt.date, bool], np.ndarray] = field(default_factory=dict)
    pinned: set[int] = field(default_factory=set)
    stays: list[Stay] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # per vehicle: node it starts at
    ends: list[int] = field(default_factory=list)  # per vehicle: node it ends at
    arrivals: dict = field(default_factory=dict)  # stay -> (on foot, parked at) next morning

    @property
    def n_bases(self) -> int:
        """Nodes before the visits: one base per gestor, then one per stay."""
        return len(self.gestores) + len(self.stays)

    def start(self, k: int) -> dt.time:
        """Return the hour vehicle `k` (a gestor-day) starts: a stay's `leave` or the usual."""
        gestor = self.gestores[self.vehicles[k][0]]
        n = self.starts[k] - len(self.gestores)
        return self.stays[n].start(gestor) if n >= 0 else gestor.start

    def day(self, g: int, day: dt.date, visits: Iterable[Visit], **kwargs) -> DayPlan:
        """Replay gestor `g`'s `day` with the week's stays."""
        gestor = self.gestores[g]
        return simulate_day(
            self.model, gestor, day, visits, stays=self.stays, arrivals=self.arrivals, **kwargs
        )


def plan_week(
    model: TravelModel,
    visits: Iterable[Visit],
    gestores: Iterable[Gestor],
    days: Iterable[dt.date],
    *,
    pins: Iterable[Pin] = (),
    absences: Iterable[tuple[str, dt.date]] = (),
    stays: Iterable[Stay] = (),
    params: PlanParams | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Plan:
    """Plan the week's visits among the gestores; see the module docstring.

    `absences` are ``(gestor_id, day)`` pairs when a gestor does not work.
    `stays` are the overnight stays the profesional decided (:class:`Stay`).
    `progress(fraction, message)` is called as the work advances.
    """
    report = progress or (lambda _f, _m: None)
    clock = time.perf_counter()
    week = _setup(model, visits, gestores, days, pins, absences, params or PlanParams())
    _place_stays(week, stays)
    early = _screen(week)
    report(0.05, "calculando tiempos de viaje con los horarios de barco")
    t_matrix = time.perf_counter()
    _matrices(week)
    matrix_s = time.perf_counter() - t_matrix
    early.update(_unreachable(week, early))
    report(0.2, "optimizando la semana")
    t_solve = time.perf_counter()
    routes = _solve(week, set(early), report) if week.vehicles else []
    solve_s = time.perf_counter() - t_solve
    report(0.85, "verificando cada día con las salidas reales de los barcos")
    day_plans, dropped = _verify(week, routes)
    reinserted = _reinsert(week, day_plans, dropped)
    assigned = {s.visit_id for d in day_plans.values() for s in d.stops}
    report(0.95, "explicando las visitas que no entraron")
    unassigned = _explain(week, assigned, early)
    days = [  # already replayed by _verify/_reinsert: only the last boat home is added
        with_last_boat(model, week.gestores[g], d, week.stays)
        for (g, _day), d in sorted(day_plans.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        if d.moves
    ]
    plan = Plan(days, unassigned, {v.id: v for v in week.visits}, approximate=model.approximate)
    plan.stays = list(week.stays)
    report(1.0, "listo")
    plan.stats = {
        "segundos_total": round(time.perf_counter() - clock, 2),
        "segundos_matrices": round(matrix_s, 2),
        "segundos_optimizacion": round(solve_s, 2),
        "dias_reparados": sum(1 for d in dropped.values() if d),
        "visitas_reparadas": sum(len(d) for d in dropped.values()),
        "visitas_reinsertadas": reinserted,
        "gestor_dias": len(week.vehicles),
    }
    return plan


def assemble(
    model: TravelModel,
    visits: Iterable[Visit],
    gestores: Iterable[Gestor],
    assignment: dict[tuple[str, dt.date], list[str]],
    unassigned: Iterable[Unassigned],
    *,
    stays: Iterable[Stay] = (),
) -> Plan:
    """Replay an assignment ``{(gestor_id, day): [visit ids in order]}`` into a :class:`Plan`.

    Used after solving and after every manual change, so what is shown is
    always the exact replay. Days that do not work stay in the plan with
    ``feasible=False`` and their problem, for the caller to refuse or show.
    """
    by_visit = {v.id: v for v in visits}
    by_gestor = {g.id: g for g in gestores}
    stays = list(stays)
    assignment = {
        **{(s.gestor_id, day): [] for s in stays for day in (s.night, s.morning)},
        **assignment,
    }
    days = [
        simulate_day(
            model, by_gestor[gid], day, [by_visit[i] for i in ids], last_boat=True, stays=stays
        )
        for (gid, day), ids in sorted(assignment.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        if gid in by_gestor
    ]
    days = [d for d in days if d.moves]
    return Plan(days, list(unassigned), by_visit, approximate=model.approximate)


def _setup(model, visits, gestores, days, pins, absences, params) -> _Week:
    visits = list(visits)
    gestores = list(gestores)
    ids = [v.id for v in visits]
    if len(set(ids)) != len(ids):
        msg = "Hay visitas con el mismo `id`; cada visita debe tener un identificador único."
        raise RoutingInputError(msg)
    if not gestores:
        msg = "No hay gestores para planificar; agregue al menos uno."
        raise RoutingInputError(msg)
    absent = set(absences)
    vehicles = [
        (g, day)
        for day in sorted(days)
        for g, gestor in enumerate(gestores)
        if day.weekday() in gestor.weekdays and (gestor.id, day) not in absent
    ]
    week = _Week(model, visits, gestores, vehicles, params)
    index = {v.id: i for i, v in enumerate(visits)}
    by_gestor_day = {(gestores[g].id, day): k for k, (g, day) in enumerate(vehicles)}
    for pin in pins:
        if pin.visit_id not in index:
            msg = f"La visita fijada {pin.visit_id!r} no está entre las visitas candidatas."
            raise RoutingInputError(msg)
        i = index[pin.visit_id]
        week.pinned.add(i)
        week.allowed[i] = [
            k for k in [by_gestor_day.get((pin.gestor_id, pin.day))] if k is not None
        ]
    return week


def _place_stays(week: _Week, stays: Iterable[Stay]) -> None:
    """Check the stays against the working days; set each vehicle's start and end node."""
    planned = {(week.gestores[g].id, day) for g, day in week.vehicles}
    week.stays = _check_stays(week.gestores, planned, stays)
    nb = len(week.gestores)
    for g, day in week.vehicles:
        gid = week.gestores[g].id
        start = end = g
        for n, stay in enumerate(week.stays):
            if stay.gestor_id == gid and stay.morning == day:
                start = nb + n
            if stay.gestor_id == gid and stay.night == day:
                end = nb + n
        week.starts.append(start)
        week.ends.append(end)
    index = {gestor.id: g for g, gestor in enumerate(week.gestores)}
    for stay in week.stays:
        gestor = week.gestores[index[stay.gestor_id]]
        week.arrivals[stay] = _arrival_mode(week.model, gestor, stay)
    for stay in week.stays:  # a stay nobody can reach within the working day is refused
        for day in (stay.night, stay.morning):
            if (stay.gestor_id, day) in planned:
                p = week.day(index[stay.gestor_id], day, [])
                if not p.feasible:
                    msg = (
                        f"El alojamiento en {stay.label} la noche del {day_label(stay.night)} "
                        f"no sirve: el {day_label(day)}, sin visitas, {p.problem}."
                    )
                    raise RoutingInputError(msg)


def _check_stays(gestores: list[Gestor], planned: set, stays: Iterable[Stay]) -> list[Stay]:
    """Return the stays that touch the planned days; refuse those that cannot work."""
    by_id = {g.id: g for g in gestores}
    nights: set[tuple[str, dt.date]] = set()
    out = []
    for stay in stays:
        gestor = by_id.get(stay.gestor_id)
        if gestor is None:
            msg = f"El alojamiento es de {stay.gestor_id!r}, que no es un gestor de este plan."
            raise RoutingInputError(msg)
        who = gestor.name or gestor.id
        if (stay.gestor_id, stay.night) in nights:
            msg = f"{who} tiene dos alojamientos la noche del {day_label(stay.night)}; deje uno."
            raise RoutingInputError(msg)
        nights.add((stay.gestor_id, stay.night))
        if stay.leave and stay.leave >= gestor.end:
            msg = (
                f"{who} saldría de {stay.label} a las {stay.leave:%H:%M} del "
                f"{day_label(stay.morning)}, después del fin de su jornada ({gestor.end:%H:%M}); "
                "indique una hora de salida anterior."
            )
            raise RoutingInputError(msg)
        tonight = (stay.gestor_id, stay.night) in planned
        if tonight and (stay.gestor_id, stay.morning) not in planned:
            msg = (
                f"{who} no puede alojar en {stay.label} la noche del {day_label(stay.night)}: "
                f"no trabaja en el plan el {day_label(stay.morning)}, y el regreso a "
                f"{gestor.base_label} debe quedar en un día planificado. Cambie la noche o "
                "agregue ese día."
            )
            raise RoutingInputError(msg)
        if tonight or (stay.gestor_id, stay.morning) in planned:
            out.append(stay)
    return out


def _screen(week: _Week) -> dict[int, Unassigned]:
    """Fill `week.allowed` from skills, days and gestores; return visits nobody can do."""
    early: dict[int, Unassigned] = {}
    names = {g.id: g.name or g.id for g in week.gestores}
    for i, visit in enumerate(week.visits):
        if i in week.pinned:
            if not week.allowed[i]:
                early[i] = Unassigned(visit.id, "fijada_no_disponible", "")
            continue
        skilled = [
            k
            for k, (g, _) in enumerate(week.vehicles)
            if visit.skills <= week.gestores[g].all_skills
        ]
        if visit.required_gestor:
            skilled = [
                k for k in skilled if week.gestores[week.vehicles[k][0]].id == visit.required_gestor
            ]
        dated = [k for k in skilled if visit.days is None or week.vehicles[k][1] in visit.days]
        week.allowed[i] = dated
        if dated:
            continue
        if visit.required_gestor and not skilled:
            who = names.get(visit.required_gestor, visit.required_gestor)
            early[i] = Unassigned(visit.id, "gestor_ausente", f"{who} no trabaja esta semana")
        elif not skilled:
            need = ", ".join(sorted(visit.skills)) or "—"
            early[i] = Unassigned(visit.id, "sin_gestor", f"requiere {need}")
        else:
            early[i] = Unassigned(visit.id, "sin_dia", "")
    return early


def _points(week: _Week):
    places = [*week.gestores, *week.stays, *week.visits]
    lon = np.array([p.lon for p in places])
    lat = np.array([p.lat for p in places])
    return week.model.snap(lon, lat)


def _matrices(week: _Week) -> None:
    """Per (day, on foot): shortest time over departures sampled through the working day."""
    places = _points(week)
    days = sorted({day for _, day in week.vehicles})
    for day in days:
        today = [(k, week.gestores[g]) for k, (g, d) in enumerate(week.vehicles) if d == day]
        for on_foot in sorted({not gestor.vehicle for _k, gestor in today}):
            crew = [(k, gestor) for k, gestor in today if gestor.vehicle != on_foot]
            first = min(_seconds(week.start(k)) for k, _gestor in crew)
            last = max(_seconds(gestor.end) for _k, gestor in crew)
            midnight = dt.datetime.combine(day, dt.time(0))
            times = [
                midnight + dt.timedelta(seconds=s)
                for s in range(first, last, week.params.sample_min * 60)
            ]
            best = np.minimum.reduce(
                list(week.model.matrix_arrays(places, places, times, on_foot=on_foot))
            )
            np.fill_diagonal(best, 0.0)
            week.matrices[(day, on_foot)] = best


def _unreachable(week: _Week, early: dict[int, Unassigned]) -> dict[int, Unassigned]:
    """Drop vehicles that cannot go and come back; explain visits left with none."""
    out = {}
    nb = week.n_bases
    for i, ks in week.allowed.items():
        keep = []
        for k in ks:
            g, day = week.vehicles[k]
            m = week.matrices[(day, not week.gestores[g].vehicle)]
            if np.isfinite(m[week.starts[k], nb + i]) and np.isfinite(m[nb + i, week.ends[k]]):
                keep.append(k)
        if ks and not keep and i not in early:
            out[i] = _why_not(week, i, ks)
        week.allowed[i] = keep
    return out


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _penalty(visit: Visit, params: PlanParams) -> int:
    if visit.must:
        return MUST_PENALTY
    value = params.visit_value_min + visit.priority * params.minutes_per_priority
    return round(params.priority_weight * value * 60)


def _int_matrix(m: np.ndarray) -> np.ndarray:
    out = np.where(np.isfinite(m), np.ceil(m), UNREACHABLE_S)
    return np.minimum(out, UNREACHABLE_S).astype(np.int64)


def _solve(week: _Week, skip: set[int], report) -> list[list[int]]:
    """Return, per vehicle, the ordered visit indices chosen by OR-Tools."""
    from ortools.constraint_solver import pywrapcp

    nb, params = week.n_bases, week.params
    n = nb + len(week.visits)
    starts, ends = week.starts, week.ends
    manager = pywrapcp.RoutingIndexManager(n, len(week.vehicles), starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    service = np.array([0] * nb + [v.duration_min * 60 for v in week.visits], dtype=np.int64)
    travel = {key: _int_matrix(m) for key, m in week.matrices.items()}
    transit_ids = {}
    for key, m in travel.items():
        transit_ids[key] = routing.RegisterTransitMatrix((m + service[:, None]).tolist())
    _arc_costs(week, routing, travel)
    vehicle_transits = [
        transit_ids[(day, not week.gestores[g].vehicle)] for g, day in week.vehicles
    ]
    routing.AddDimensionWithVehicleTransits(vehicle_transits, DAY_S, DAY_S, False, "tiempo")
    time_dim = routing.GetDimensionOrDie("tiempo")
    _time_windows(week, manager, routing, time_dim, service)
    _visit_counts(week, manager, routing)
    for g in set(range(nb)) - set(starts) - set(ends):  # an unused base or stay is no stop
        index = manager.NodeToIndex(g)
        routing.AddDisjunction([index], 0)
        routing.solver().Add(routing.ActiveVar(index) == 0)
    for i, visit in enumerate(week.visits):
        index = manager.NodeToIndex(nb + i)
        allowed = [] if i in skip else week.allowed.get(i, [])
        if not allowed:
            routing.solver().Add(routing.ActiveVar(index) == 0)
        else:
            routing.VehicleVar(index).SetValues([-1, *allowed])  # -1: not performed
        penalty = MUST_PENALTY if i in week.pinned else _penalty(visit, params)
        routing.AddDisjunction([index], penalty)
    for k in range(len(week.vehicles)):
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(k)))
    seen = {"n": 0}

    def on_solution() -> None:
        seen["n"] += 1
        report(0.2 + 0.6 * min(1.0, seen["n"] / 50), f"optimizando: solución {seen['n']}")

    routing.AddAtSolutionCallback(on_solution)
    solution = routing.SolveWithParameters(
        search_parameters(params.seconds, solution_limit=params.solution_limit)
    )
    if solution is None:
        return [[] for _ in week.vehicles]
    routes = read_routes(manager, routing, solution)
    return [[node - nb for node in route if node >= nb] for route in routes]


def _arc_costs(week: _Week, routing, travel: dict) -> None:
    """Travel cost per vehicle, plus the price of not being a visit's preferred gestor."""
    params = week.params
    prefer = _preference_columns(week)
    cost_ids: dict = {}
    for k, (g, day) in enumerate(week.vehicles):
        key = (day, not week.gestores[g].vehicle)
        ckey = (key, g if prefer is not None else None)
        if ckey not in cost_ids:
            cost = travel[key] * params.travel_weight
            if prefer is not None:
                gid = week.gestores[g].id
                extra = [
                    params.preferred_penalty_min * 60 if p is not None and p != gid else 0
                    for p in prefer
                ]
                cost = cost + np.array(extra)[None, :]
            matrix = np.round(cost).astype(np.int64).tolist()
            cost_ids[ckey] = routing.RegisterTransitMatrix(matrix)
        routing.SetArcCostEvaluatorOfVehicle(cost_ids[ckey], k)


def _preference_columns(week: _Week) -> list | None:
    prefs = [None] * week.n_bases + [v.preferred_gestor for v in week.visits]
    return prefs if any(p is not None for p in prefs) else None


def _time_windows(week: _Week, manager, routing, time_dim, service) -> None:
    nb = week.n_bases
    transits = [int(service[manager.IndexToNode(j)]) for j in range(routing.Size())]
    for k, (g, _day) in enumerate(week.vehicles):
        gestor = week.gestores[g]
        start = _seconds(week.start(k))
        time_dim.CumulVar(routing.Start(k)).SetRange(start, _seconds(gestor.end))
        time_dim.CumulVar(routing.End(k)).SetRange(start, _seconds(gestor.end))
        if week.params.breaks and gestor.takes_lunch:
            earliest, latest = gestor.lunch_bounds(_day)
            lunch = routing.solver().FixedDurationIntervalVar(
                _seconds(earliest.time()),
                _seconds(latest.time()),
                gestor.lunch_min * 60,
                False,
                f"almuerzo-{k}",
            )
            time_dim.SetBreakIntervalsOfVehicle([lunch], k, transits)
    for i, visit in enumerate(week.visits):
        if visit.window:
            index = manager.NodeToIndex(nb + i)
            time_dim.CumulVar(index).SetRange(_seconds(visit.window[0]), _seconds(visit.window[1]))


def _visit_counts(week: _Week, manager, routing) -> None:
    nb = week.n_bases
    one = routing.RegisterUnaryTransitCallback(lambda j: int(manager.IndexToNode(j) >= nb))
    caps = [week.gestores[g].max_visits for g, _ in week.vehicles]
    routing.AddDimensionWithVehicleCapacity(one, 0, caps, True, "visitas")
    if week.params.balance_weight <= 0:
        return
    count = routing.GetDimensionOrDie("visitas")
    share = math.ceil(len(week.visits) / max(1, len(week.vehicles)))
    for k in range(len(week.vehicles)):
        count.SetCumulVarSoftUpperBound(
            routing.End(k), min(share, caps[k]), round(week.params.balance_weight * 60)
        )


# -- verify, repair, reinsert ---------------------------------------------------------------
def _day_visits(week: _Week, plan: DayPlan) -> list[Visit]:
    by_id = {v.id: v for v in week.visits}
    return [by_id[s.visit_id] for s in plan.stops]


def _verify(week: _Week, routes: list[list[int]]):
    """Replay each solver day; drop the least important visits of days that do not work."""
    plans: dict[tuple[int, dt.date], DayPlan] = {}
    dropped: dict[tuple[int, dt.date], list[int]] = {}
    for k, route in enumerate(routes):
        g, day = week.vehicles[k]
        plans[(g, day)], dropped[(g, day)] = _repair(week, g, day, route)
    return plans, dropped


def _repair(week: _Week, g: int, day: dt.date, route: list[int]):
    route = list(route)
    removed: list[int] = []
    plan = week.day(g, day, [week.visits[i] for i in route])
    while not plan.feasible and route:
        best = None
        for pos, i in enumerate(route):
            trial = route[:pos] + route[pos + 1 :]
            p = week.day(g, day, [week.visits[j] for j in trial])
            key = (i in week.pinned, week.visits[i].must, week.visits[i].priority)
            if p.feasible and (best is None or key < best[0]):
                best = (key, pos, p)
        if best is None:  # no single removal works: drop the least important and retry
            pos = min(range(len(route)), key=lambda q: _importance(week, route[q]))
            removed.append(route.pop(pos))
            plan = week.day(g, day, [week.visits[j] for j in route])
            continue
        _, pos, plan = best
        removed.append(route.pop(pos))
    return plan, removed


def _importance(week: _Week, i: int) -> tuple:
    v = week.visits[i]
    return (i in week.pinned, v.must, v.priority)


def _reinsert(week: _Week, plans: dict, dropped: dict) -> int:
    """Try every dropped visit again in every allowed day and position (exact replay)."""
    todo = sorted(
        (i for ids in dropped.values() for i in ids),
        key=lambda i: _importance(week, i),
        reverse=True,
    )
    placed = 0
    for i in todo:
        best = None
        for k in week.allowed.get(i, []):
            g, day = week.vehicles[k]
            plan = plans.get((g, day))
            current = _day_visits(week, plan) if plan else []
            if len(current) >= week.gestores[g].max_visits:
                continue
            base_end = plan.end_at if plan and plan.stops else None
            for pos in range(len(current) + 1):
                trial = [*current[:pos], week.visits[i], *current[pos:]]
                p = week.day(g, day, trial)
                if not p.feasible:
                    continue
                added = (p.end_at - (base_end or p.start_at)).total_seconds()
                if best is None or added < best[0]:
                    best = (added, (g, day), p)
        if best is not None:
            plans[best[1]] = best[2]
            placed += 1
    return placed


def _why_not(week: _Week, i: int, vehicles: list[int]) -> Unassigned:
    """Replay the visit alone on each allowed gestor-day to say why it cannot be done."""
    visit = week.visits[i]
    problems = []
    for k in vehicles:
        g, day = week.vehicles[k]
        gestor = week.gestores[g]
        solo = replace(gestor, lunch_min=0)
        p = simulate_day(week.model, solo, day, [visit], stays=week.stays, arrivals=week.arrivals)
        if p.feasible:
            return Unassigned(visit.id, "capacidad", _capacity_detail(visit))
        problems.append((day, gestor, p.problem))
    boat = [p for p in problems if "barco" in p[2] or "no se puede" in p[2]]
    if len(boat) == len(problems):
        day, _g, why = problems[0]
        return Unassigned(visit.id, "sin_barco", f"{day_label(day)}: {why}")
    day, _g, why = next(p for p in problems if p not in boat)
    return Unassigned(visit.id, "fuera_de_horario", f"{day_label(day)}: {why}")


def _capacity_detail(visit: Visit) -> str:
    return (
        f"cabe sola en la jornada, pero los cupos de la semana se usaron en visitas de mayor "
        f"prioridad o más cercanas (prioridad {visit.priority:g})"
    )


def _explain(week: _Week, assigned: set[str], early: dict[int, Unassigned]) -> list[Unassigned]:
    out = []
    for i, visit in enumerate(week.visits):
        if visit.id in assigned:
            continue
        if i in early:
            out.append(early[i])
        elif week.allowed.get(i):
            out.append(_why_not(week, i, week.allowed[i][:10]))
        else:
            out.append(Unassigned(visit.id, "capacidad", _capacity_detail(visit)))
    return out


# -- re-planning ----------------------------------------------------------------------------
def replan(
    previous: Plan,
    model: TravelModel,
    gestores: Iterable[Gestor],
    days: Iterable[dt.date],
    *,
    from_day: dt.date,
    done: Iterable[str] = (),
    keep: Iterable[str] = (),
    absences: Iterable[tuple[str, dt.date]] = (),
    suspensions: Iterable[Suspension] = (),
    stays: Iterable[Stay] = (),
    params: PlanParams | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Plan:
    """Re-plan the rest of the week from `from_day`.

    Days before `from_day` stay as they were. Visits in `done` are removed;
    visits in `keep` (agreed with the family) stay pinned to their gestor and
    day unless that gestor is now absent, in which case they become must-visit.
    `suspensions` (a cancelled sailing, a suspended line) are added to the
    model's timetable.
    """
    gestores = list(gestores)
    if suspensions:
        if hasattr(model, "with_suspensions"):  # a TransitModel rebuilds its boat trips
            model = model.with_suspensions(suspensions)
        else:
            model = replace(model, timetable=model.timetable.with_suspensions(tuple(suspensions)))
    absent = set(absences)
    done, keep = set(done), set(keep)
    frozen = [d for d in previous.days if d.day < from_day]
    frozen_ids = {s.visit_id for d in frozen for s in d.stops}
    pins, visits = [], []
    for visit in previous.visits.values():
        if visit.id in done or visit.id in frozen_ids:
            continue
        where = _where(previous, visit.id)
        if visit.id in keep and where and where[1] >= from_day:
            if where in absent:
                visit = replace(visit, must=True)
            else:
                pins.append(Pin(visit.id, *where))
        visits.append(visit)
    rest = [d for d in days if d >= from_day]
    rescue = _rescue_stays(model, gestores, rest, absent, stays, from_day)
    plan = plan_week(
        model,
        visits,
        gestores,
        rest,
        pins=[p for p in pins if (p.gestor_id, p.day) not in rescue.absent],
        absences=absent | rescue.absent,
        stays=rescue.stays,
        params=params,
        progress=progress,
    )
    plan.days = frozen + plan.days
    plan.visits = {**{i: previous.visits[i] for i in frozen_ids}, **plan.visits}
    plan.stays = sorted(
        {*plan.stays, *(s for s in rescue.stays if s.morning < from_day)},
        key=lambda s: (s.gestor_id, s.night),
    )
    plan.notes, plan.decisions = rescue.notes, rescue.decisions
    return plan


@dataclass
class _Rescue:
    """Stays a re-plan keeps, extends or drops, and what it says about them."""

    stays: list[Stay] = field(default_factory=list)
    absent: set = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)


def _rescue_stays(model, gestores, rest, absent, stays, from_day) -> _Rescue:
    """Make the stays work with the changed boats (`model` has the suspensions).

    A gestor already at a stay (its night is before `from_day`) whose boat
    back no longer sails stays there: the next night is added at the same
    place, with the reason, until a morning with a way back to the base. A
    stay not reached yet whose way there or back fails is dropped, with the
    reason (its visits are re-planned or left out with theirs). When there is
    no way back within the week, the gestor's remaining days are left out of
    the plan and the profesional is told exactly what to decide.
    """
    out = _Rescue()
    by_id = {g.id: g for g in gestores}
    for stay in sorted(stays, key=lambda s: (s.gestor_id, s.night)):
        gestor = by_id.get(stay.gestor_id)
        if gestor is None or stay.morning < from_day:
            out.stays.append(stay)
            continue
        taken = {(s.gestor_id, s.night) for s in out.stays}
        if (stay.gestor_id, stay.night) in taken or (stay.gestor_id, stay.morning) in out.absent:
            continue  # covered by an extension, or the gestor is stuck away
        works = [d for d in rest if d.weekday() in gestor.weekdays and (gestor.id, d) not in absent]
        _rescue_one(model, gestor, stay, works, from_day, out)
    return out


def _rescue_one(model, gestor: Gestor, stay: Stay, works, from_day, out: _Rescue) -> None:
    """Keep, extend or drop one stay of `gestor` (see :func:`_rescue_stays`)."""
    who = gestor.name or gestor.id
    arrived = stay.night < from_day
    earlier = [s for s in out.stays if s.gestor_id == gestor.id]
    if not arrived and stay.night in works and stay.morning not in works:
        out.notes.append(
            f"Se quita el alojamiento de {who} en {stay.label} la noche del "
            f"{day_label(stay.night)}: no trabaja el {day_label(stay.morning)}, y el regreso "
            f"debe quedar en un día planificado. Duerme en {gestor.base_label}."
        )
        return
    if not arrived and stay.night in works:
        there = simulate_day(model, gestor, stay.night, [], stays=[*earlier, stay])
        if not there.feasible:
            out.notes.append(
                f"Se quita el alojamiento de {who} en {stay.label} la noche del "
                f"{day_label(stay.night)}: ese día, sin visitas, {there.problem}. Duerme en "
                f"{gestor.base_label}."
            )
            return
    chain, notes = [stay], []
    while chain[-1].morning in works:
        last, morning = chain[-1], chain[-1].morning
        back = None
        for option in [last, replace(last, leave=None)] if last.leave else [last]:
            trial = simulate_day(model, gestor, morning, [], stays=[*earlier, *chain[:-1], option])
            if trial.feasible:
                chain[-1] = option
                break
            back = back or trial
        else:
            why = f"el {day_label(morning)}, {back.problem}"
            if not arrived:
                out.notes.append(
                    f"Se quita el alojamiento de {who} en {stay.label} la noche del "
                    f"{day_label(stay.night)}: {why}. Duerme en {gestor.base_label}."
                )
                return
            if morning + dt.timedelta(days=1) in works:
                notes.append(
                    f"{who} sigue en {last.label} ({why}): se planifica también la noche del "
                    f"{day_label(morning)} allí, y sus visitas de ese día en la isla."
                )
                chain[-1] = replace(last, leave=None)
                chain.append(replace(last, night=morning, leave=stay.leave))
                continue
            stuck = [d for d in works if d >= stay.morning]
            out.absent |= {(gestor.id, d) for d in stuck}
            out.decisions.append(
                f"{who} está en {stay.label} y no tiene regreso a {gestor.base_label} en los días "
                f"planificados de la semana ({why}). Decida cómo vuelve (otra embarcación o "
                "un alojamiento fuera del plan) y qué hace el "
                + ", ".join(day_label(d) for d in stuck)
                + ": esos días quedan sin plan."
            )
            out.stays.append(stay)
            return
        break
    out.notes.extend(notes)
    out.stays.extend(chain)


def _where(plan: Plan, visit_id: str) -> tuple[str, dt.date] | None:
    for d in plan.days:
        if any(s.visit_id == visit_id for s in d.stops):
            return (d.gestor_id, d.day)
    return None
