"""The bundled sample recording: the real snapshot, then snapshots derived from it minute by minute.

Every derived body has the exact shape (and minified style) of the real feed, and
the script of events is seeded, so the sample can be rebuilt byte-for-byte.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from velib_replay.contracts.feed import minified, station_code
from velib_replay.recording import INFO_FEED, STATUS_FEED, Poll, RecordingWriter, format_time
from velib_replay.simulate.stations import move_bikes, stop_renting


@dataclass
class SampleScript:
    """The events of the bundled sample, so its README and its tests name the same stations."""

    snapshots: int = 10
    moves_per_minute: int = 40
    stops_renting: str = "16107"
    stops_renting_from: int = 4
    absent: str = "32017"
    absent_in: tuple[int, ...] = (5, 6)
    repeated: int = 5  # this snapshot is polled twice, as the feed serves when polled faster than it updates
    seed: int = 20251018
    notes: list[str] = field(default_factory=list)


def derive_documents(base: dict, script: SampleScript) -> list[dict]:
    """The sample's distinct documents: the real one first, then one a minute later each."""
    rng = random.Random(script.seed)
    documents = [base]
    stations = copy.deepcopy(base["data"]["stations"])
    for index in range(1, script.snapshots):
        clock = base["lastUpdatedOther"] + 60 * index
        move_bikes(stations, rng, script.moves_per_minute, clock)
        if index == script.stops_renting_from:
            stop_renting(next(s for s in stations if station_code(s) == script.stops_renting), clock)
        shown = [s for s in stations if not (index in script.absent_in and station_code(s) == script.absent)]
        documents.append({**base, "lastUpdatedOther": clock, "data": {"stations": copy.deepcopy(shown)}})
    return documents


def build_sample(status_body: bytes, info_body: bytes, first_fetch: datetime, out: Path) -> None:
    """Write the bundled sample recording: the real snapshot, derived ones, one repeated poll."""
    script = SampleScript()
    manifest = {"created": format_time(first_fetch), **_sample_manifest(script)}
    writer = RecordingWriter(out, source=manifest)
    writer.write(Poll(feed=INFO_FEED, fetched_at=first_fetch, status=200), info_body)
    documents = derive_documents(json.loads(status_body), script)
    bodies = [status_body] + [minified(document) for document in documents[1:]]
    order = list(range(script.snapshots))
    order.insert(script.repeated + 1, script.repeated)
    for minute, index in enumerate(order):
        origin = None if index == 0 else f"derived from the real snapshot: minute {index} of the sample script"
        if minute != index:
            origin = f"{origin or 'real snapshot'}, polled again verbatim"
        poll = Poll(
            feed=STATUS_FEED,
            fetched_at=first_fetch + timedelta(minutes=minute),
            status=200,
            content_type="application/json",
            origin=origin,
        )
        writer.write(poll, bodies[index])


def _sample_manifest(script: SampleScript) -> dict:
    return {
        "description": "Bundled sample: one real Vélib' Métropole station_status response "
        "(2025-10-18) and snapshots derived from it, one minute apart.",
        "licence": "Licence Ouverte / Open Licence (Etalab), data: Vélib' Métropole",
        "derived": {
            "seed": script.seed,
            "bike_moves_per_minute": script.moves_per_minute,
            "station_stops_renting": {"stationCode": script.stops_renting, "from_snapshot": script.stops_renting_from},
            "station_absent": {"stationCode": script.absent, "in_snapshots": list(script.absent_in)},
            "snapshot_polled_twice": script.repeated,
        },
    }
