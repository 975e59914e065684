"""Reading a GBFS ``station_status`` body (v1.0 to v3.0, and Vélib's dialect): the facts every stage agrees on.

Vélib's feed has quirks worth isolating in one place: ``num_bikes_available_types``
is a list of one-key objects, ``stationCode`` is a string (``11031_relais``), and
``lastUpdatedOther`` is the feed's own clock, which the indicators are keyed on. Other systems
give ``last_updated`` (POSIX seconds before v3, RFC 3339 in v3), ``station_id`` and
``vehicle_types_available``: ``added_fields`` says what a message adds so every system reads as Vélib' does.
"""

from __future__ import annotations

import json
import re
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


@dataclass(frozen=True)
class FeedDocument:
    """Any other GBFS feed (system_information, vehicle_types, system_regions): a ``data`` object and a clock."""

    last_updated: int | None
    data: dict[str, Any]
    ttl: int | None = None  # seconds before the feed may change; None when it states none


def parse_document(body: bytes) -> FeedDocument:
    """Parse any GBFS feed body, raising FeedError with a one-line reason when it has no ``data`` object."""
    document = _json(body)
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise FeedError("no data object")
    ttl = document.get("ttl")
    return FeedDocument(feed_time(document.get("last_updated")), data, count_of(ttl) if type(ttl) is int else None)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FeedError(f"not JSON ({error})") from None


def parse_status(body: bytes) -> StatusDocument:
    """Parse a station_status body, raising FeedError with a one-line reason."""
    document = _json(body)
    stations = document.get("data", {}).get("stations") if isinstance(document, dict) else None
    if not isinstance(stations, list):
        raise FeedError("no data.stations list")
    return StatusDocument(feed_time(document.get("lastUpdatedOther", document.get("last_updated"))), stations)


_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})", re.ASCII | re.IGNORECASE)


def feed_time(value: Any) -> int | None:
    """A feed clock in epoch seconds: an integer (v1, v2, Vélib') or an RFC 3339 time (v3), else None.

    The fraction is dropped (the indicators are per second); ``Z`` or an offset is required, as RFC 3339 does.
    """
    if isinstance(value, int):
        return value
    found = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return None
    try:
        moment = datetime.strptime(found[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    zone = found[2].upper()
    offset = 0 if zone == "Z" else (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return int(moment.timestamp()) - offset


def declared_version(body: bytes) -> str | None:
    """The GBFS ``version`` a body declares, if any (Vélib's declares none)."""
    try:
        version = _json(body).get("version")
    except (FeedError, AttributeError):
        return None
    return version if isinstance(version, str) else None


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


BIKE_KINDS = {"human": "mechanical", "electric_assist": "ebike", "electric": "ebike"}  # bicycles' propulsion_type


@dataclass(frozen=True)
class SystemContext:
    """What a message needs from the system's other feeds: its ``system_id`` and, when it publishes
    ``vehicle_types``, which type is a mechanical bike and which an e-bike (others are neither)."""

    system_id: str | None = None
    bike_kinds: dict[str, str] | None = None  # vehicle_type_id → "mechanical" | "ebike"; None: no vehicle_types


NO_CONTEXT = SystemContext()


def system_context(system_information: bytes | None, vehicle_types: bytes | None) -> SystemContext:
    """The context from those two bodies (either may be missing or unreadable: that part is then unknown)."""
    system_id = _data(system_information).get("system_id")
    types = _data(vehicle_types).get("vehicle_types")
    kinds = None
    if isinstance(types, list):
        kinds = {
            str(kind["vehicle_type_id"]): BIKE_KINDS[kind.get("propulsion_type")]
            for kind in types
            if isinstance(kind, dict)
            and "vehicle_type_id" in kind
            and kind.get("form_factor") == "bicycle"
            and kind.get("propulsion_type") in BIKE_KINDS
        }
    return SystemContext(system_id if isinstance(system_id, str) else None, kinds)


def _data(body: bytes | None) -> dict[str, Any]:
    try:
        return parse_document(body).data if body is not None else {}
    except FeedError:
        return {}


def codes_from_ids(stations: list[Station]) -> bool:
    """Whether this feed names its stations by ``station_id`` only: no station has a ``stationCode``
    (Vélib's feed has both, and a Vélib' station without one must stay without one)."""
    return not any(isinstance(station, dict) and "stationCode" in station for station in stations)


def with_added_fields(stations: list[Station], context: SystemContext) -> list[Station]:
    """The stations as messages carry them: each with ``added_fields`` (Vélib's stay the same objects)."""
    by_id = codes_from_ids(stations)
    return [
        {**station, **added} if (added := added_fields(station, context, by_id)) else station for station in stations
    ]


def added_fields(station: Any, context: SystemContext, code_from_id: bool) -> dict[str, Any]:
    """The fields a message adds to a station so every system reads as Vélib' does; none when it has them all.

    Each is added only where the station lacks it: ``stationCode`` (its ``station_id``, as a string),
    ``num_bikes_available_types`` (Vélib's list of one-key objects), ``num_bikes_available`` (v3's
    ``num_vehicles_available``) and ``system_id``. Fields present are never touched.
    """
    if not isinstance(station, dict):
        return {}
    added: dict[str, Any] = {}
    station_id = station.get("station_id")
    if code_from_id and "stationCode" not in station and isinstance(station_id, (str, int)):
        added["stationCode"] = str(station_id)
    if "num_bikes_available_types" not in station and (types := _types(station, context)) is not None:
        added["num_bikes_available_types"] = [{"mechanical": types[0]}, {"ebike": types[1]}]
    if "num_bikes_available" not in station and "num_vehicles_available" in station:
        added["num_bikes_available"] = station["num_vehicles_available"]
    if context.system_id is not None and "system_id" not in station:
        added["system_id"] = context.system_id
    return added


def _types(station: Station, context: SystemContext) -> tuple[int, int] | None:
    """(mechanical, ebike) from ``vehicle_types_available`` and the system's types, else from the legacy
    ``num_ebikes_available``; None when the feed says neither."""
    available = station.get("vehicle_types_available")
    if context.bike_kinds is not None and isinstance(available, list):
        totals = {"mechanical": 0, "ebike": 0}
        for entry in available:
            kind = context.bike_kinds.get(str(entry.get("vehicle_type_id"))) if isinstance(entry, dict) else None
            if kind is not None:
                totals[kind] += count_of(entry.get("count"))
        return totals["mechanical"], totals["ebike"]
    if "num_ebikes_available" in station:
        ebike = count_of(station["num_ebikes_available"])
        bikes = count_of(station.get("num_bikes_available", station.get("num_vehicles_available")))
        return max(0, bikes - ebike), ebike
    return None


def station_areas(station_information: bytes | None, system_regions: bytes | None) -> dict[str, str]:
    """stationCode (or ``station_id``) → area, for a system without a station table: the station's
    ``post_code``, else the name of its ``region_id`` in system_regions; stations with neither are left out
    (they count as unknown). Unreadable bodies give no areas."""
    regions = {}
    for region in _data(system_regions).get("regions") or []:
        if isinstance(region, dict) and (name := _text(region.get("name"))) and "region_id" in region:
            regions[str(region["region_id"])] = name
    areas = {}
    for station in _data(station_information).get("stations") or []:
        code = station_code(station) or (
            str(station["station_id"]) if isinstance(station, dict) and "station_id" in station else None
        )
        if code is None:
            continue
        area = _text(station.get("post_code")) or regions.get(str(station.get("region_id")))
        if area:
            areas[code] = area
    return areas


def _text(value: Any) -> str | None:
    """A non-empty string, or v3's localized text (the first language's)."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = value[0].get("text")
    return value.strip() if isinstance(value, str) and value.strip() else None
