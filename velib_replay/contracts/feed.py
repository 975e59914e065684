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


MAX_COUNT = 2**31 - 1  # the largest count the indicators take: 64-bit sums of these cannot overflow
BIKE_TYPES = ("mechanical", "ebike")


def station_code(station: Any) -> str | None:
    """The station's code: a non-empty JSON string, else None (the station cannot be counted)."""
    code = station.get("stationCode") if isinstance(station, dict) else None
    return code if isinstance(code, str) and code else None


def bikes_by_type(station: Any) -> tuple[int, int]:
    """(mechanical, ebike): Σ over the entries of the feed's list of one-key objects, or over a plain map.

    Each entry is judged on its own: a non-object entry, or a bad count in it, adds 0
    without losing the other entries; any other shape of the field gives (0, 0).
    """
    types = station.get("num_bikes_available_types") if isinstance(station, dict) else None
    entries = types if isinstance(types, list) else [types]
    mechanical, ebike = (
        sum(count_of(entry.get(kind)) for entry in entries if isinstance(entry, dict)) for kind in BIKE_TYPES
    )
    return mechanical, ebike


def count_of(value: Any) -> int:
    """A count as the indicators take it: a JSON integer from 0 to MAX_COUNT; anything else adds 0."""
    return value if type(value) is int and 0 <= value <= MAX_COUNT else 0


def iso_utc(epoch_seconds: float) -> str:
    """The indicator contract's time format: ``YYYY-MM-DDTHH:MM:SSZ``."""
    moment = datetime.fromtimestamp(int(epoch_seconds), timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")  # strftime's %Y does not pad years < 1000


def minified(document: Any) -> bytes:
    """JSON in the feed's own style (no spaces, UTF-8), so derived bodies look served."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
