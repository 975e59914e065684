"""``simulate_day``: a synthetic day of the whole network (``velib-replay simulate``).

Trips whose number follows a daily curve, commute flows from residential to business
stations and back, e-bikes taken more often, stations going out of service and coming
back, all seeded, so the same seed and sizes give the same bytes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path

from velib_replay.contracts.feed import Station, bikes_by_type, iso_utc, minified, station_code
from velib_replay.recording import (
    MANIFEST,
    STATUS_FEED,
    Poll,
    Recording,
    RecordingError,
    RecordingWriter,
    format_time,
)
from velib_replay.simulate.stations import set_counts, stop_renting
from velib_replay.simulate.versions import shaped_body, system_bodies

# ---------------------------------------------------------------- a synthetic day of the whole network
# Relative departures per local hour (0h … 23h), the usual shape of a big city's bike share on a
# weekday: quiet nights, a morning and a (higher) evening commute peak, a lunch bump.
# fmt: off
HOURLY_PROFILE = (
    1.0, 0.6, 0.4, 0.25, 0.2, 0.4,  # 0h-5h
    1.5, 4.0, 7.0, 4.5, 3.0, 3.3,  # 6h-11h
    4.2, 4.3, 4.0, 4.2, 5.0, 7.0,  # 12h-17h
    8.0, 6.0, 4.0, 3.0, 2.4, 1.6,  # 18h-23h
)
# fmt: on
# (role, sign, share): the sign says which way commutes move bikes (+1 empties in the morning, -1 fills)
ROLES = (("residential", 1, 0.45), ("business", -1, 0.30), ("mixed", 0, 0.25))
PARIS = "Europe/Paris"
LAST_CLOCK = 253_402_300_799  # 9999-12-31T23:59:59Z: the last second a date can show
FEED_LAG_S = 30  # the feed's clock (lastUpdatedOther) runs behind the fetch time, as the real one does
COPY_ID_STRIDE = 10**12  # station_id offset of each copy when the network is replicated (real ids are < 10**11)


@dataclass(frozen=True)
class DayPattern:
    """The knobs of the daily pattern; the defaults give a Vélib'-like weekday (~100,000 trips on ~1,500 stations)."""

    trips_per_station: float = 67.0  # per station in service and per day, so a smaller or larger network scales
    commute_bias: float = 0.3  # how strongly commute hours draw bikes from one role of station to the other
    ebike_preference: float = 2.0  # an e-bike is this many times likelier to be taken than a mechanical one
    trip_minutes: tuple[int, int] = (6, 30)
    outages_per_day: float = 24.0
    outage_minutes: tuple[int, int] = (20, 240)
    # As the real feed: every station reports within each poll interval, so every last_reported advances
    # at every poll (the realistic series for storage); off, only stations whose counts changed report.
    every_station_reports: bool = False

    def trips_per_minute(self, hour: float, stations: int) -> float:
        """Departures per minute from ``stations`` at a local time of day (hours), between the hourly values."""
        position = (hour - 0.5) % 24  # each hourly value holds at the middle of its hour
        low = int(position)
        weight = position - low
        level = HOURLY_PROFILE[low] * (1 - weight) + HOURLY_PROFILE[(low + 1) % 24] * weight
        return self.trips_per_station * stations * level / (60 * sum(HOURLY_PROFILE))

    @staticmethod
    def commute(hour: float) -> float:
        """+1 at the morning peak (residential → business), -1 at the evening one (back), about 0 otherwise."""
        return math.exp(-(((hour - 8.3) / 1.0) ** 2) / 2) - math.exp(-(((hour - 18.2) / 1.1) ** 2) / 2)


@dataclass
class SimulationSummary:
    """What a simulated recording holds, for the command's report and the tests."""

    snapshots: int = 0
    stations: int = 0
    trips: int = 0
    outages: int = 0
    departures: list[int] = field(default_factory=list)  # trips started before each snapshot
    roles: dict[str, str] = field(default_factory=dict)  # stationCode → residential / business / mixed
    body_bytes: int = 0
    stored_bytes: int = 0


@dataclass(slots=True)
class _Dock:
    """A station in service at the start: its true counts, kept even while the feed shows it out of service."""

    station: Station  # the feed object, kept in step with the counts
    index: int  # its place in the body
    sign: int
    mechanical: int
    ebike: int
    docks: int
    back_at: int | None = None  # out of service until this snapshot

    @property
    def bikes(self) -> int:
        return self.mechanical + self.ebike


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method when small, the normal approximation when large): the random module has none."""
    if mean >= 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class _Network:
    """The moving parts of a simulated day: bikes leave, ride for a while, and dock elsewhere."""

    def __init__(self, stations: list[Station], rng: random.Random, pattern: DayPattern, interval_s: float):
        self.rng, self.pattern, self.interval_s = rng, pattern, interval_s
        self.docks = [_new_dock(s, i, _role_sign(rng)) for i, s in enumerate(stations) if _in_service(s)]
        self.by_sign = {sign: [d for d in self.docks if d.sign == sign] for _, sign, _ in ROLES}
        self.riding: dict[int, list[tuple[str, int]]] = defaultdict(list)  # arrival step → (kind, target sign)
        self.out_of_service: list[_Dock] = []
        self.outages = 0
        self.changed: set[int] = set()  # stations whose feed object changed since the last body

    def roles(self) -> dict[str, str]:
        names = {sign: name for name, sign, _ in ROLES}
        return {str(station_code(dock.station)): names[dock.sign] for dock in self.docks}

    def advance(self, step: int, hour: float, clock: int) -> int:
        """One interval of the day up to snapshot ``step``; returns the trips started in it."""
        self._restore(step, clock)
        self._break_down(step, clock)
        self._arrive(step, clock)
        mean = self.pattern.trips_per_minute(hour, len(self.docks)) * self.interval_s / 60
        return sum(self._depart(step, hour, clock) for _ in range(_poisson(self.rng, mean)))

    def _depart(self, step: int, hour: float, clock: int) -> bool:
        source = self._pick(self._sign(hour, +1), _has_bike) or self._pick(None, _has_bike)
        if source is None:
            return False
        ebike_weight = self.pattern.ebike_preference * source.ebike
        kind = "ebike" if self.rng.random() * (source.mechanical + ebike_weight) < ebike_weight else "mechanical"
        self._change(source, kind, -1, clock)
        ride_s = self.rng.uniform(*self.pattern.trip_minutes) * 60
        self.riding[step + max(1, round(ride_s / self.interval_s))].append((kind, self._sign(hour, -1)))
        return True

    def _arrive(self, step: int, clock: int) -> None:
        """Dock the bikes due now, in the role chosen at departure, else anywhere; a full network keeps them riding."""
        for kind, sign in self.riding.pop(step, []):
            target = self._pick(sign, _has_dock) or self._pick(None, _has_dock)
            if target is None:
                self.riding[step + 1].append((kind, sign))
            else:
                self._change(target, kind, +1, clock)

    def _break_down(self, step: int, clock: int) -> None:
        """Occasionally a station stops renting: the feed shows no bikes and no docks until it comes back."""
        for _ in range(_poisson(self.rng, self.pattern.outages_per_day * self.interval_s / 86400)):
            dock = self.rng.choice(self.docks)
            if dock.back_at is None:
                minutes = self.rng.uniform(*self.pattern.outage_minutes)
                dock.back_at = step + max(1, round(minutes * 60 / self.interval_s))
                stop_renting(dock.station, clock)
                self.changed.add(dock.index)
                self.out_of_service.append(dock)
                self.outages += 1

    def _restore(self, step: int, clock: int) -> None:
        """Stations whose outage is over show their bikes and docks again, as they were left."""
        for dock in [d for d in self.out_of_service if d.back_at is not None and d.back_at <= step]:
            self.out_of_service.remove(dock)
            dock.back_at = None
            dock.station.update(is_renting=1, is_returning=1)
            self._show(dock, clock)

    def _change(self, dock: _Dock, kind: str, delta: int, clock: int) -> None:
        """One bike taken (-1) or returned (+1): the dock count moves the other way, capacity stays."""
        if kind == "ebike":
            dock.ebike += delta
        else:
            dock.mechanical += delta
        dock.docks -= delta
        self._show(dock, clock)

    def _show(self, dock: _Dock, clock: int) -> None:
        set_counts(dock.station, dock.mechanical, dock.ebike, dock.docks)
        dock.station["last_reported"] = clock
        self.changed.add(dock.index)

    def _sign(self, hour: float, direction: int) -> int:
        """The role a departure (+1) or an arrival (-1) comes from at this hour, drawn by the commute's pull."""
        pull = self.pattern.commute_bias * self.pattern.commute(hour) * direction
        weights = [share * math.exp(pull * sign) for _, sign, share in ROLES]
        return self.rng.choices([sign for _, sign, _ in ROLES], weights)[0]

    def _pick(self, sign: int | None, usable: Callable[[_Dock], bool], tries: int = 8) -> _Dock | None:
        """A random usable station of one role, or of any (a few tries: a busy day leaves some empty or full)."""
        candidates = self.by_sign[sign] if sign is not None and self.by_sign[sign] else self.docks
        for _ in range(tries):
            dock = self.rng.choice(candidates)
            if dock.back_at is None and usable(dock):
                return dock
        return None


class _BodyEncoder:
    """The snapshot body, re-encoding only the stations that changed: the same bytes as ``minified``, faster.

    A minute changes a few hundred of ~1,500 stations, and JSON encoding was half of the generator's time.
    """

    _MARK = "\x00stations\x00"

    def __init__(self, base: dict, stations: list[Station]):
        self.base, self.stations = base, stations
        self.parts = [minified(station) for station in stations]

    def encode(self, clock: int, changed: set[int]) -> bytes:
        for index in changed:
            self.parts[index] = minified(self.stations[index])
        changed.clear()
        frame = minified({**self.base, "lastUpdatedOther": clock, "data": {"stations": [self._MARK]}})
        head, tail = frame.split(minified(self._MARK))
        return head + b",".join(self.parts) + tail


def _in_service(station: Station) -> bool:
    return station.get("is_installed") == 1 and station.get("is_renting") == 1 and station.get("is_returning") == 1


def _role_sign(rng: random.Random) -> int:
    return rng.choices([sign for _, sign, _ in ROLES], [share for _, _, share in ROLES])[0]


def _new_dock(station: Station, index: int, sign: int) -> _Dock:
    mechanical, ebike = bikes_by_type(station)
    return _Dock(station, index, sign, mechanical, ebike, int(station.get("num_docks_available") or 0))


def _has_bike(dock: _Dock) -> bool:
    return dock.bikes > 0


def _has_dock(dock: _Dock) -> bool:
    return dock.docks > 0


def resize_stations(stations: list[Station], count: int | None) -> list[Station]:
    """Copies of the first ``count`` stations, or of the whole network repeated (new codes and ids) to reach it."""
    if count is None:
        return copy.deepcopy(stations)
    if count < 1 or not stations:
        raise ValueError(f"cannot make {count} station(s) from {len(stations)}")
    resized = []
    for index in range(count):
        copy_number, original = divmod(index, len(stations))
        station = copy.deepcopy(stations[original])
        if copy_number:
            station["stationCode"] = f"{station_code(station)}_sim{copy_number}"
            if isinstance(station.get("station_id"), int):
                station["station_id"] += copy_number * COPY_ID_STRIDE
        resized.append(station)
    return resized


def paris_time() -> tzinfo:
    """The network's local time, which the daily pattern follows (a fixed UTC+1 where no tz database exists)."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(PARIS)
    except (ImportError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return timezone(timedelta(hours=1))


def local_midnight(epoch_seconds: int) -> datetime:
    """The start of the local day containing a feed time, in UTC: a simulated day's default start."""
    local = datetime.fromtimestamp(epoch_seconds, timezone.utc).astimezone(paris_time())
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def _local_hour(moment: datetime, zone: tzinfo) -> float:
    local = moment.astimezone(zone)
    return local.hour + local.minute / 60 + local.second / 3600


def first_status_body(recording: Path) -> bytes:
    """The first valid station_status body of a recording: the base a simulation starts from."""
    source = Recording(recording)
    poll = next((p for p in source.polls(STATUS_FEED) if p.valid and not p.is_gap), None)
    if poll is None:
        raise RecordingError(f"{recording}: no valid station_status poll to start a simulation from")
    body = source.body(poll)
    problem = _unusable_base(json.loads(body))
    if problem:
        raise RecordingError(f"{source.path / poll.body_file}: cannot start a simulation from it: {problem}")
    return body


def _unusable_base(document: dict) -> str | None:
    """Why a valid body still cannot seed a simulation (it needs a feed clock and station objects), if it cannot."""
    clock = document.get("lastUpdatedOther")
    if type(clock) is not int or not 0 <= clock <= LAST_CLOCK:
        return f"lastUpdatedOther {clock!r} is not a time in seconds between 1970 and 9999"
    stations = document["data"]["stations"]
    if not stations or not all(isinstance(station, dict) for station in stations):
        return "its stations are not all JSON objects"
    return None


@dataclass(frozen=True)
class DayPlan:
    """Everything that decides a simulated recording's bytes: the same plan and base give the same recording."""

    seed: int
    snapshots: int = 1440
    interval_s: float = 60.0
    stations: int | None = None
    start: datetime | None = None  # None: local midnight of the base snapshot's day
    pattern: DayPattern = field(default_factory=DayPattern)

    def check(self) -> None:
        if self.snapshots < 1:
            raise ValueError("snapshots must be at least 1")
        if self.interval_s < 1:
            raise ValueError("the interval must be at least 1 s, so every snapshot has its own feed time")


def simulate_day(
    base_status_body: bytes,
    out_dir: Path,
    *,
    seed: int,
    snapshots: int = 1440,
    interval_s: float = 60.0,
    stations: int | None = None,
    start: datetime | None = None,
    pattern: DayPattern | None = None,
    compression: str = "gzip",
    on_snapshot: Callable[[int], None] | None = None,
    gbfs_version: str | None = None,
) -> SimulationSummary:
    """Write a synthetic recording of ``snapshots`` station_status polls made from a real body.

    Deterministic: the same base, seed and sizes give byte-identical bodies (and manifest). ``gbfs_version``
    writes them in that version's shape (``simulate.versions``), with the system's other feeds; None: Vélib's.
    """
    plan = DayPlan(seed, snapshots, interval_s, stations, start, pattern or DayPattern())
    plan.check()
    if (Path(out_dir) / MANIFEST).exists():
        raise RecordingError(f"{out_dir} already holds a recording: choose another folder or delete it")
    document, out = json.loads(base_status_body), Path(out_dir)
    return _write_day(document, base_status_body, out, plan, compression, on_snapshot, gbfs_version)


def _write_day(
    base: dict,
    base_body: bytes,
    out_dir: Path,
    plan: DayPlan,
    compression: str,
    on_snapshot: Callable[[int], None] | None,
    gbfs_version: str | None = None,
) -> SimulationSummary:
    start = plan.start or local_midnight(base["lastUpdatedOther"])
    lag = min(FEED_LAG_S, int(plan.interval_s) // 2)
    stations = resize_stations(base["data"]["stations"], plan.stations)
    _shift_reports(stations, int(start.timestamp()) - lag - base["lastUpdatedOther"])
    rng = random.Random(plan.seed)
    network = _Network(stations, rng, plan.pattern, plan.interval_s)
    encoder = _BodyEncoder(base, stations)
    manifest = _day_manifest(plan, start, base_body, len(stations))
    if gbfs_version is not None:
        manifest["simulated"]["gbfs_version"] = gbfs_version
    writer = RecordingWriter(out_dir, compression=compression, source=manifest)
    if gbfs_version is not None:
        for feed, body in system_bodies(int(start.timestamp()) - lag, gbfs_version):
            writer.write(Poll(feed, start, 200, "application/json", origin=f"simulated GBFS {gbfs_version}"), body)
    summary, zone = SimulationSummary(stations=len(stations), roles=network.roles()), paris_time()
    based_on = iso_utc(base["lastUpdatedOther"])
    reports = random.Random(f"{plan.seed}-reports")  # its own stream: the trips stay those of the same seed
    for step in range(plan.snapshots):
        moment = start + timedelta(seconds=step * plan.interval_s)
        clock = int(moment.timestamp()) - lag
        started = network.advance(step, _local_hour(moment, zone), clock) if step else 0
        if plan.pattern.every_station_reports and step:
            _report_all(stations, clock, reports, int(plan.interval_s), network.changed)
        if gbfs_version is None:
            body = encoder.encode(clock, network.changed)
        else:
            network.changed.clear()
            body = shaped_body(stations, clock, gbfs_version)
        origin = (
            f"simulated (seed {plan.seed}) from the real snapshot of {based_on}: snapshot {step} of {plan.snapshots}"
        )
        poll = Poll(STATUS_FEED, moment, 200, "application/json", origin=origin)
        written = writer.write(poll, body)
        summary.departures.append(started)
        summary.body_bytes += written.size
        summary.stored_bytes += written.stored_size
        if on_snapshot:
            on_snapshot(step)
    summary.snapshots, summary.trips, summary.outages = plan.snapshots, sum(summary.departures), network.outages
    return summary


def _report_all(stations: list[Station], clock: int, rng: random.Random, interval_s: int, changed: set[int]) -> None:
    """Each station reported at its own moment of the last interval (counts that changed reported at ``clock``)."""
    for index, station in enumerate(stations):
        if index not in changed:
            station["last_reported"] = clock - rng.randrange(max(1, interval_s))
    changed.update(range(len(stations)))


def _shift_reports(stations: list[Station], shift: int) -> None:
    """Move the stations' own report times with the day, so none reports after the feed's clock."""
    for station in stations:
        if isinstance(station.get("last_reported"), int):
            station["last_reported"] += shift


def _day_manifest(plan: DayPlan, start: datetime, base_body: bytes, stations: int) -> dict:
    described = asdict(plan) | {"start": format_time(start), "stations": stations}
    return {
        "created": format_time(start),  # not the wall clock: the same plan gives the same manifest
        "description": "Synthetic day made by `velib-replay simulate` from one real Vélib' Métropole "
        "station_status response: trips following a daily curve, commute flows, outages.",
        "licence": "Licence Ouverte / Open Licence (Etalab), data: Vélib' Métropole",
        "simulated": described | {"base_sha256": hashlib.sha256(base_body).hexdigest()},
    }
