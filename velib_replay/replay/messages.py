"""What goes on ``velib-projet``: one message per station per snapshot.

The value is the feed's own station object, fields untouched, plus ``snapshot_time``
(the feed clock of the snapshot it came from), so a consumer written for the
original pipeline still parses it and the job can key indicators on the feed's time.
The record's Kafka timestamp is that time too (unless the publisher stamps send time),
so Kafka's time-based tools (offsets for times, ``startingOffsetsByTimestamp``) find feed times.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from velib_replay.recording.feed import Station, iso_utc, station_code

SNAPSHOT_TIME_FIELD = "snapshot_time"


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes
    timestamp_ms: int | None = None  # the Kafka record's timestamp; None lets the client stamp send time


def parse_station_filter(spec: str | None) -> frozenset[str] | None:
    """``all`` (or nothing) keeps every station; ``16107,32017`` keeps those codes."""
    if spec is None or spec.strip().lower() in ("", "all"):
        return None
    codes = frozenset(code.strip() for code in spec.split(",") if code.strip())
    if not codes:
        raise ValueError(f"no station code in {spec!r}")
    return codes


def selected(stations: Iterable[Station], wanted: frozenset[str] | None) -> list[Station]:
    return [station for station in stations if wanted is None or station_code(station) in wanted]


def station_message(station: Station, snapshot_time: int) -> Message:
    """A non-object entry of the feed's list is sent as it is: the job sets it aside, counted, with its reason."""
    code = station_code(station)
    value = {**station, SNAPSHOT_TIME_FIELD: iso_utc(snapshot_time)} if isinstance(station, dict) else station
    return Message(
        key=code.encode() if code is not None else None,
        value=json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(),
        timestamp_ms=snapshot_time * 1000,
    )


def snapshot_messages(stations: Iterable[Station], snapshot_time: int, wanted: frozenset[str] | None) -> list[Message]:
    """All messages of one snapshot, in the feed's order: they are sent together."""
    return [station_message(station, snapshot_time) for station in selected(stations, wanted)]
