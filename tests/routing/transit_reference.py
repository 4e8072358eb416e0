"""An independent, plain public transport search to check `routing.transit` against.

Pure Python and numpy, written from the rules of the `routing.transit` docstring
and not from its code: it expands the calendars itself, then repeats a pass over
every trip (boarding where the traveller is ready in time, getting off anywhere
after) and a pass over the walks between stops until nothing improves — a
Bellman-Ford style fixpoint, slow but obviously right. Used by the tests and as
the baseline of `bench/transit.py`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from routing._geo import Places

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _runs(feed, service_id: str, day: dt.date) -> bool:
    exceptions = feed.calendar_dates[
        (feed.calendar_dates["service_id"] == service_id) & (feed.calendar_dates["date"] == day)
    ]
    if len(exceptions):
        return int(exceptions["exception_type"].iloc[0]) == 1
    rows = feed.calendar[feed.calendar["service_id"] == service_id]
    if not len(rows):
        return False
    r = rows.iloc[0]
    return bool(r[WEEKDAYS[day.weekday()]]) and r["start_date"] <= day <= r["end_date"]


def trip_instances(feeds, stop_index, t0: dt.datetime, horizon_s: float, days_before: int = 2):
    """Every trip running around `t0`: (boat, [(stop, arrive, depart, pickup, drop_off)]).

    Times are seconds after `t0`.
    """
    out = []
    midnight = dt.datetime.combine(t0.date(), dt.time(0))
    last = (t0 + dt.timedelta(seconds=horizon_s)).date()
    first = t0.date() - dt.timedelta(days=days_before)
    for k, feed in enumerate(feeds):
        boat_routes = set(feed.routes.loc[feed.routes["kind"] == "barco", "route_id"])
        times = dict(list(feed.stop_times.groupby("trip_id", sort=False)))
        freq = dict(list(feed.frequencies.groupby("trip_id", sort=False)))
        for offset in range((last - first).days + 1):
            day = first + dt.timedelta(days=offset)
            base = (dt.datetime.combine(day, dt.time(0)) - midnight).total_seconds()
            base -= (t0 - midnight).total_seconds()
            running = {s for s in feed.trips["service_id"].unique() if _runs(feed, s, day)}
            for trip in feed.trips.itertuples():
                if trip.service_id not in running:
                    continue
                st = times[trip.trip_id].sort_values("stop_sequence")
                rows = list(
                    zip(
                        [stop_index[(k, s)] for s in st["stop_id"]],
                        st["arrival_s"].astype(float),
                        st["departure_s"].astype(float),
                        st["pickup"],
                        st["drop_off"],
                        strict=True,
                    )
                )
                shifts = [0.0]
                if trip.trip_id in freq:
                    f = freq[trip.trip_id]
                    first_dep = rows[0][2]
                    shifts = [
                        float(s - first_dep)
                        for r in f.itertuples()
                        for s in range(r.start_s, r.end_s, r.headway_s)
                    ]
                for shift in shifts:
                    out.append(
                        (
                            trip.route_id in boat_routes,
                            [
                                (s, a + base + shift, d + base + shift, p, o)
                                for s, a, d, p, o in rows
                            ],
                        )
                    )
    return out


def reference_arrivals(
    feeds,
    network,
    origin: Places,
    dests: Places,
    t0: dt.datetime,
    *,
    max_walk_s: float,
    max_transfer_s: float,
    transfer_slack_s: float,
    boat_slack_s: float,
    horizon_s: float,
) -> np.ndarray:
    """Seconds from one origin to each destination leaving at `t0` (``inf``: unreachable)."""
    stops = pd.concat([f.stops.assign(feed=k) for k, f in enumerate(feeds)], ignore_index=True)
    stop_index = {
        (k, s): i for i, (k, s) in enumerate(zip(stops["feed"], stops["stop_id"], strict=True))
    }
    places = network.snap(stops["stop_lon"].to_numpy(), stops["stop_lat"].to_numpy())
    trips = trip_instances(feeds, stop_index, t0, horizon_s)
    pier = np.zeros(len(stops), dtype=bool)
    for boat, rows in trips:
        if boat:
            pier[[r[0] for r in rows]] = True
    walk = network.times(places, places, "walk")
    fp = np.where((walk <= max_transfer_s) | (pier[:, None] & pier[None, :]), walk, np.inf)
    np.fill_diagonal(fp, np.inf)
    access = network.times(origin, places, "walk")[0]
    access[~pier & (access > max_walk_s)] = np.inf
    egress = network.times(dests, places, "walk")  # D x S, walking is symmetric
    egress = np.where(pier[None, :] | (egress <= max_walk_s), egress, np.inf)
    alight = np.full(len(stops), np.inf)
    walked = np.full(len(stops), np.inf)
    ready_bus, ready_boat = access.copy(), access + boat_slack_s
    changed = True
    while changed:
        changed = False
        for boat, rows in trips:
            ready = ready_boat if boat else ready_bus
            on, previous_dep = False, np.inf
            for stop, arrive, depart, pickup, drop_off in rows:
                if on and drop_off and previous_dep <= horizon_s and arrive < alight[stop]:
                    alight[stop] = arrive
                    changed = True
                if not on and pickup and depart <= horizon_s and ready[stop] <= depart:
                    on = True
                previous_dep = depart
        walked = np.minimum(walked, (alight[:, None] + fp).min(axis=0))
        ready_bus = np.minimum.reduce(
            [access, alight + transfer_slack_s, walked + transfer_slack_s]
        )
        ready_boat = np.minimum.reduce([access, alight, walked]) + boat_slack_s
    direct = network.times(origin, dests, "walk")[0]
    best = np.minimum(direct, (alight[None, :] + egress).min(axis=1))
    best[best > horizon_s] = np.inf
    return best
