"""Reading the Vélib' GBFS ``station_status`` body: the facts every stage agrees on.

The real feed has quirks worth isolating in one place: ``num_bikes_available_types``
is a list of one-key objects, ``stationCode`` is a string (``11031_relais``), and
``lastUpdatedOther`` is the feed's own clock, which the indicators are keyed on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

Station = dict[str, Any]


class FeedError(ValueError):
    """A body that is not a usable station_status document."""


@dataclass(frozen=True)
class StatusDocument:
    last_updated: int | None
    stations: list[Station]


def parse_status(body: bytes) -> StatusDocument:
    """Parse a station_status body, raising FeedError with a one-line reason."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FeedError(f"not JSON ({error})") from None
    stations = document.get("data", {}).get("stations") if isinstance(document, dict) else None
    if not isinstance(stations, list):
        raise FeedError("no data.stations list")
    last_updated = document.get("lastUpdatedOther", document.get("last_updated"))
    return StatusDocument(last_updated if isinstance(last_updated, int) else None, stations)


def station_code(station: Station) -> str | None:
    code = station.get("stationCode")
    return str(code) if code is not None else None


def bikes_by_type(station: Station) -> tuple[int, int]:
    """(mechanical, ebike) from either the feed's list of one-key objects or a plain map."""
    types = station.get("num_bikes_available_types") or []
    merged: dict[str, Any] = {}
    if isinstance(types, dict):
        merged = types
    else:
        for entry in types:
            if isinstance(entry, dict):
                merged.update(entry)
    return count_of(merged.get("mechanical")), count_of(merged.get("ebike"))


def count_of(value: Any) -> int:
    """A count field as the indicators use it: an integer, or 0 when absent or not an integer (as Spark reads it)."""
    return value if type(value) is int else 0


def iso_utc(epoch_seconds: float) -> str:
    """The indicator contract's time format: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(int(epoch_seconds), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def minified(document: Any) -> bytes:
    """JSON in the feed's own style (no spaces, UTF-8), so derived bodies look served."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
