"""The indicator contract, and an independent plain-Python computation of it.

The Spark job is the product; this module is the referee. Golden files are
checked against it, so a golden file is never just "what Spark said".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from velib_replay.feed import Station, bikes_by_type, count_of, iso_utc, station_code

UNKNOWN_POSTCODE = "unknown"
FIELDS = ("snapshot_time", "postcode", "stations", "bikes_available", "mechanical", "ebike", "docks_available")

Indicator = dict[str, Any]


def indicator_key(snapshot_time: str, postcode: str) -> str:
    return f"{snapshot_time}|{postcode}"


def load_postcodes(table: Path) -> dict[str, str]:
    """stationCode → postcode from the station table; empty postcodes are left out."""
    with open(table, newline="", encoding="utf-8") as handle:
        return {row["stationCode"]: row["postcode"] for row in csv.DictReader(handle) if row.get("postcode")}


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


def canonical_lines(indicators: Mapping[str, Indicator]) -> list[str]:
    """Golden-file form: one sorted-key JSON object per line, rows sorted by key."""
    return [json.dumps(indicators[key], sort_keys=True, ensure_ascii=False) for key in sorted(indicators)]


def write_golden(path: Path, indicators: Mapping[str, Indicator]) -> None:
    path.write_text("".join(line + "\n" for line in canonical_lines(indicators)), encoding="utf-8")


def read_golden(path: Path) -> dict[str, Indicator]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {indicator_key(row["snapshot_time"], row["postcode"]): row for row in rows}
