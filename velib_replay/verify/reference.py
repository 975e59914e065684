"""The referee: an independent plain-Python computation of the indicator contract.

The Spark job is the product; this module is the referee. Golden files are
checked against it, so a golden file is never just "what Spark said".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from velib_replay.job.contract import FIELDS, UNKNOWN_POSTCODE, Indicator, indicator_key
from velib_replay.recording import Recording
from velib_replay.recording.feed import Station, bikes_by_type, count_of, iso_utc, station_code
from velib_replay.replay import pacing
from velib_replay.replay.messages import selected


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
            {"snapshot_time": time_text, "postcode": postcode} | dict.fromkeys(FIELDS[2:], 0),
        )
        row["stations"] += 1
        for name, value in zip(FIELDS[3:], reading, strict=True):
            row[name] += value
    return result


def over_recording(
    recording: Recording, postcodes: Mapping[str, str], *, wanted: frozenset[str] | None = None, passes: int = 1
) -> dict[str, Indicator]:
    """What the job must give after a faithful replay of ``recording``: ``play``'s selection and loop passes."""
    slots = pacing.schedule(list(recording.snapshots()), passes=passes)
    return compute(((slot.snapshot_time, selected(slot.snapshot.stations, wanted)) for slot in slots), postcodes)
