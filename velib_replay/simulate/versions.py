"""A simulated day in another GBFS version's shape (``simulate --gbfs-version``), so the whole pipeline is
exercised at scale on each: the same trips, written as a v1.1, v2.3 or v3.0 system would publish them.

Each station is named by its Vélib' ``stationCode`` as ``station_id`` (so Vélib's station table still maps
it); e-bikes are told apart as that version can: the legacy ``num_ebikes_available`` in 1.1, vehicle types
``bike`` (human) and ``ebike`` (electric assist) in 2.3 and 3.0.
"""

from __future__ import annotations

from datetime import datetime, timezone

from velib_replay.contracts.feed import Station, bikes_by_type, minified, station_code

GBFS_VERSIONS = ("1.1", "2.3", "3.0")
SYSTEM_ID = "velib-replay-simulated"
TTL_S = 60
VEHICLE_TYPES = (("bike", "human"), ("ebike", "electric_assist"))


def shaped_body(stations: list[Station], clock: int, version: str) -> bytes:
    """A station_status body of ``version`` holding the simulated (Vélib'-shaped) stations at ``clock``."""
    shaped = [shaped_station(station, version) for station in stations]
    return minified(_document(clock, version, {"stations": shaped}))


def shaped_station(station: Station, version: str) -> Station:
    mechanical, ebike = bikes_by_type(station)
    shaped: Station = {"station_id": station_code(station) or str(station.get("station_id"))}
    if version == "1.1":
        shaped |= {"num_bikes_available": mechanical + ebike, "num_ebikes_available": ebike}
    else:
        counts = zip((name for name, _ in VEHICLE_TYPES), (mechanical, ebike), strict=True)
        key = "num_vehicles_available" if version == "3.0" else "num_bikes_available"
        shaped[key] = mechanical + ebike
        shaped["vehicle_types_available"] = [{"vehicle_type_id": name, "count": count} for name, count in counts]
    shaped["num_docks_available"] = station.get("num_docks_available")
    flags = {name: station.get(name) for name in ("is_installed", "is_renting", "is_returning")}
    shaped |= flags if version == "1.1" else {name: value == 1 for name, value in flags.items()}
    reported = station.get("last_reported")
    if isinstance(reported, int):
        shaped["last_reported"] = _time(reported, version)
    return shaped


def system_bodies(clock: int, version: str) -> list[tuple[str, bytes]]:
    """(feed, body) of the system's other feeds: system_information, and vehicle_types from 2.3 on."""
    name = "Simulated Vélib'"
    system = {"system_id": SYSTEM_ID, "timezone": "Europe/Paris"}
    if version == "3.0":  # localized names and a list of languages
        system |= {"languages": ["en"], "name": [{"text": name, "language": "en"}]}
    else:
        system |= {"language": "en", "name": name}
    bodies = [("system_information", minified(_document(clock, version, system)))]
    if version != "1.1":
        types = [
            {"vehicle_type_id": type_id, "form_factor": "bicycle", "propulsion_type": propulsion}
            | ({"max_range_meters": 50000} if propulsion != "human" else {})
            for type_id, propulsion in VEHICLE_TYPES
        ]
        bodies.append(("vehicle_types", minified(_document(clock, version, {"vehicle_types": types}))))
    return bodies


def _document(clock: int, version: str, data: dict) -> dict:
    return {"last_updated": _time(clock, version), "ttl": TTL_S, "version": version, "data": data}


def _time(epoch: int, version: str) -> int | str:
    """POSIX seconds before v3, RFC 3339 with an offset in v3."""
    if version != "3.0":
        return epoch
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")
