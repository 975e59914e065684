"""Changing stations the way the real feed shows it: bikes moving within capacity, stations out of service."""

from __future__ import annotations

import random

from velib_replay.contracts.feed import BIKE_TYPES, Station, bikes_by_type


def set_counts(station: Station, mechanical: int, ebike: int, docks: int) -> None:
    """Write counts back in every spelling the feed uses (snake_case and camelCase twins)."""
    station["num_bikes_available"] = station["numBikesAvailable"] = mechanical + ebike
    station["num_bikes_available_types"] = [{"mechanical": mechanical}, {"ebike": ebike}]
    station["num_docks_available"] = station["numDocksAvailable"] = docks


def move_bikes(stations: list[Station], rng: random.Random, moves: int, reported_at: int) -> None:
    """Move ``moves`` single bikes from a renting station to one with a free dock."""
    renting = [s for s in stations if s.get("is_renting") == 1 and s.get("is_returning") == 1]
    for _ in range(moves):
        source, target = rng.sample(renting, 2)
        kinds = [kind for kind, count in zip(BIKE_TYPES, bikes_by_type(source), strict=True) if count > 0]
        if not kinds or target["num_docks_available"] <= 0:
            continue
        kind = rng.choice(kinds)
        for station, delta in ((source, -1), (target, +1)):
            counts = dict(zip(BIKE_TYPES, bikes_by_type(station), strict=True))
            counts[kind] += delta
            set_counts(station, counts["mechanical"], counts["ebike"], station["num_docks_available"] - delta)
            station["last_reported"] = reported_at


def stop_renting(station: Station, reported_at: int) -> None:
    """What the real feed shows for a station taken out of service: no bikes, no docks."""
    station.update(is_renting=0, is_returning=0, last_reported=reported_at)
    set_counts(station, 0, 0, 0)
