"""The referee: an independent plain-Python computation of the indicator contract.

The Spark job is the product; this module is the referee. Golden files are
checked against it, so a golden file is never just "what Spark said". ``judge``
takes raw message values, as the job reads them from Kafka, and says what each
one becomes: counted, or set aside with the job's reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from velib_replay.contracts.feed import Station, bikes_by_type, count_of, iso_utc, station_code
from velib_replay.contracts.indicators import (
    INDICATOR_FIELDS,
    MAX_FUTURE_S,
    UNKNOWN_POSTCODE,
    Indicator,
    Reason,
    indicator_key,
    snapshot_epoch,
)
from velib_replay.contracts.messages import SNAPSHOT_TIME_FIELD, selected
from velib_replay.recording import Recording
from velib_replay.replay import pacing


def compute(snapshots: Iterable[tuple[int, Iterable[Station]]], postcodes: Mapping[str, str]) -> dict[str, Indicator]:
    """Indicators per (snapshot_time, postcode), each station counted once per snapshot_time.

    Should a station be seen twice at one snapshot_time with different readings, the
    smallest reading counts: a rule that does not depend on arrival order (the job's too).
    """
    readings: dict[tuple[int, str], tuple[int, int, int, int]] = {}
    for snapshot_time, stations in snapshots:
        for station in stations:
            code = station_code(station)
            if code is None:
                continue
            reading = (count_of(station.get("num_bikes_available")), *bikes_by_type(station))
            reading += (count_of(station.get("num_docks_available")),)
            key = (snapshot_time, code)
            readings[key] = min(readings.get(key, reading), reading)
    result: dict[str, Indicator] = {}
    for (snapshot_time, code), reading in sorted(readings.items()):
        time_text = iso_utc(snapshot_time)
        postcode = postcodes.get(code, UNKNOWN_POSTCODE)
        row = result.setdefault(
            indicator_key(time_text, postcode),
            {"snapshot_time": time_text, "postcode": postcode} | dict.fromkeys(INDICATOR_FIELDS[2:], 0),
        )
        row["stations"] += 1
        for name, value in zip(INDICATOR_FIELDS[3:], reading, strict=True):
            row[name] += value
    return result


def over_recording(
    recording: Recording, postcodes: Mapping[str, str], *, wanted: frozenset[str] | None = None, passes: int = 1
) -> dict[str, Indicator]:
    """What the job must give after a faithful replay of ``recording``: ``play``'s selection and loop passes."""
    slots = pacing.schedule(list(recording.snapshots()), passes=passes)
    return compute(((slot.snapshot_time, selected(slot.snapshot.stations, wanted)) for slot in slots), postcodes)


@dataclass
class Judgement:
    """What the job must make of a list of raw messages: its indicators, and (index, reason) of each one set aside."""

    indicators: dict[str, Indicator]
    rejected: list[tuple[int, str]] = field(default_factory=list)


def judge(
    values: Iterable[bytes | None], postcodes: Mapping[str, str], now: float, max_future: float = MAX_FUTURE_S
) -> Judgement:
    """The job's outcome over raw message values read at wall-clock ``now`` (epoch seconds), watermark aside."""
    usable: list[tuple[int, list[Station]]] = []
    rejected: list[tuple[int, str]] = []
    for index, value in enumerate(values):
        outcome = read_message(value, now, max_future)
        if isinstance(outcome, str):
            rejected.append((index, outcome))
        else:
            usable.append((outcome[1], [outcome[0]]))
    return Judgement(compute(usable, postcodes), rejected)


def read_message(value: bytes | None, now: float, max_future: float = MAX_FUTURE_S) -> tuple[Station, int] | str:
    """(station, snapshot epoch) of a usable message, else the reason the job sets it aside."""
    if value is None:
        return Reason.NO_VALUE
    station = json_object(value)
    if station is None:
        return Reason.NOT_OBJECT
    if station_code(station) is None:
        return Reason.NO_STATION_CODE
    epoch = snapshot_epoch(station.get(SNAPSHOT_TIME_FIELD))
    if epoch is None:
        return Reason.BAD_TIME
    if epoch > int(now) + int(max_future):
        return Reason.FUTURE
    return station, epoch


_OBJECT_START = re.compile(r"[ \t\n\r]*\{")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_MAX_NUMBER_LENGTH = 1000  # Jackson's limit in Spark's JSON parser: a longer number is not JSON there


def json_object(value: bytes) -> dict[str, Any] | None:
    """The JSON object a message holds, read as Spark's ``try_parse_json`` reads it, else None.

    Like Spark: UTF-8 only; whatever follows the object is ignored; duplicate keys, NaN,
    lone surrogates and numbers longer than 1,000 characters make it unreadable.
    """
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    start = _OBJECT_START.match(text)
    if start is None:
        return None
    try:
        document, _end = _DECODER.raw_decode(text, start.end() - 1)
        if _SURROGATE_ESCAPE.search(text):
            json.dumps(document, ensure_ascii=False).encode()  # a lone surrogate cannot be encoded
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return None
    return document


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate key")
    return document


def _number(parse):
    def checked(text: str):
        if len(text) > _MAX_NUMBER_LENGTH:
            raise ValueError("number too long")
        return parse(text)

    return checked


def _no_constant(text: str):
    raise ValueError(f"{text} is not JSON")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_int=_number(int), parse_float=_number(float), parse_constant=_no_constant
)
