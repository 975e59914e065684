"""What a report shows, as plain values: indicator rows, station positions and readings, recording health.

The rows come from the reference computation over a recording (what the job must give) or from the
indicators topic (what it gave); the map and the health section need the recording itself.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from velib_replay.contracts.feed import count_of, iso_utc, parse_status, station_code
from velib_replay.contracts.indicators import (
    COUNT_FIELDS,
    UNKNOWN_POSTCODE,
    Indicator,
    row_problem,
    snapshot_epoch,
)
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import INFO_FEED, STATUS_FEED, Recording
from velib_replay.recording.info import RecordingInfo, describe
from velib_replay.verify.reference import over_recording
from velib_replay.verify.topic import TopicContents, read_latest

TOTAL_FIELDS = COUNT_FIELDS  # stations, bikes_available, mechanical, ebike, docks_available
NO_POSTCODE_LABEL = "no postcode in the station table"  # what pages say for it
MAX_MAP_TIMES = 96  # slider positions: a day of minute polls would otherwise weigh ~2 M numbers in the page


@dataclass(frozen=True)
class Station:
    code: str
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Health:
    """The recording's health: ``info``'s statistics plus the per-poll latency and feed age over time."""

    info: RecordingInfo
    times: list[str]  # fetch time of each status poll with a body
    latency_ms: list[float | None]
    feed_age_s: list[float | None]  # fetch time minus the feed's own clock: how stale the feed was

    def summary(self, values: list[float | None], show: Callable[[float], str] = "{:.0f}".format) -> str:
        known = [value for value in values if value is not None]
        if not known:
            return "not recorded"
        return f"median {show(statistics.median(known))}, max {show(max(known))}"


@dataclass
class ReportData:
    title: str
    source: str  # where the rows come from, said on the page
    rows: list[Indicator]
    stations: list[Station] = field(default_factory=list)
    bikes: dict[str, list[int | None]] = field(default_factory=dict)  # snapshot time → bikes per station
    health: Health | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def times(self) -> list[str]:
        return sorted({row["snapshot_time"] for row in self.rows if row.get("snapshot_time") is not None})

    @property
    def postcodes(self) -> list[str]:
        return sorted({postcode_of(row) for row in self.rows})


def fitting(rows: Iterable[Indicator], own_rows: bool = False) -> tuple[list[Indicator], str | None]:
    """The rows that fit the contract, and one line counting the others by reason ("1 row without snapshot_time"):
    a page draws only the first, and says the second, so one stray row never breaks it. ``own_rows``: rows of a
    user's job read by ``--key-fields``, held to what such rows can be (see ``own_row_problem``)."""
    problem_of = own_row_problem if own_rows else row_problem
    kept, problems = [], Counter()
    for row in rows:
        if problem := problem_of(row):
            problems[problem] += 1
        else:
            kept.append(row)
    said = ", ".join(f"{n} row{'' if n == 1 else 's'} {problem}" for problem, n in sorted(problems.items()))
    return kept, said or None


def own_row_problem(row: Indicator) -> str | None:
    """Why a user's job's row cannot be drawn; None when it can. Its snapshot_time and postcode may be absent (the
    original consumer writes no time, and Spark's to_json drops a null postcode), but what is there must be read."""
    time = row.get("snapshot_time")
    if time is not None and snapshot_epoch(time) is None:
        return "with an invalid snapshot_time"
    postcode = row.get("postcode")
    if postcode is not None and not isinstance(postcode, str):
        return "without a postcode string"
    return None


def network_totals(rows: Iterable[Indicator]) -> dict[str, dict[str, int]]:
    """Snapshot time → the sum over postcodes of each count: the whole network at that time (rows without a
    snapshot_time, such as the original consumer's all-time sums, are on no time)."""
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.get("snapshot_time") is None:
            continue
        total = totals.setdefault(row["snapshot_time"], dict.fromkeys(TOTAL_FIELDS, 0))
        for name in TOTAL_FIELDS:
            total[name] += count_of(row.get(name))
    return dict(sorted(totals.items()))


def shown_fields(rows: Iterable[Indicator]) -> list[str]:
    """The counts a page shows: the contract's when the rows have them, else the rows' own whole-number fields
    (the original consumer's ``total_bikes``, ``mechanical``, ``ebike``), so any pipeline's output can be read."""
    rows = list(rows)
    if all(name in row for row in rows for name in TOTAL_FIELDS):
        return list(TOTAL_FIELDS)
    found = {
        name for row in rows for name, value in row.items() if isinstance(value, int) and not isinstance(value, bool)
    }
    return sorted(found - {"snapshot_time", "postcode"})


def main_field(fields: list[str]) -> str | None:
    """The count a per-postcode bar chart shows: the bikes available (by whatever name), else the first count."""
    bikes = [name for name in fields if "bike" in name and name not in ("mechanical", "ebike")]
    return "bikes_available" if "bikes_available" in fields else next(iter(bikes or fields), None)


def latest_time(rows: Iterable[Indicator]) -> str | None:
    """The latest snapshot_time of the rows; None when none has one."""
    return max((row["snapshot_time"] for row in rows if row.get("snapshot_time") is not None), default=None)


def latest_by_postcode(rows: Iterable[Indicator]) -> tuple[str | None, dict[str, Indicator]]:
    """The latest snapshot time and its row per postcode; rows without a snapshot_time when none has one (the
    original consumer's all-time sums per postcode, its stations without a postcode under ``null``)."""
    rows = list(rows)
    latest = latest_time(rows)
    return latest, {postcode_of(row): row for row in rows if row.get("snapshot_time") == latest}


def postcode_label(postcode: str) -> str:
    """A postcode as pages show it: ``unknown`` explained."""
    return NO_POSTCODE_LABEL if postcode == UNKNOWN_POSTCODE else postcode


def postcode_of(row: Indicator) -> str:
    """The row's postcode; ``unknown`` (the contract's word) for a null one, as the original consumer writes
    for the stations its table has no postcode for."""
    postcode = row.get("postcode")
    return UNKNOWN_POSTCODE if postcode is None else str(postcode)


def stations_of(recording: Recording) -> list[Station]:
    """Positions from the latest valid ``station_information`` body; stations without lat/lon are left off."""
    polls = [poll for poll in recording.polls(INFO_FEED) if poll.valid and not poll.is_gap]
    if not polls:
        return []
    stations = []
    for entry in parse_status(recording.body(polls[-1])).stations:
        code, lat, lon = station_code(entry), entry.get("lat"), entry.get("lon")
        if code and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (lat, lon)):
            stations.append(Station(code, str(entry.get("name") or code), float(lat), float(lon)))
    return stations


def bikes_over_time(recording: Recording, stations: list[Station], limit: int = MAX_MAP_TIMES) -> dict[str, list]:
    """Bikes available per station (None: not in that snapshot) at up to ``limit`` evenly spaced snapshots."""
    snapshots = list(recording.snapshots())
    step = max(1, -(-len(snapshots) // limit))
    chosen = snapshots[::step]
    if snapshots and chosen[-1] is not snapshots[-1]:
        chosen.append(snapshots[-1])  # the latest one is always on the slider
    bikes = {}
    for snapshot in chosen:
        readings = {station_code(s): count_of(s.get("num_bikes_available")) for s in snapshot.stations}
        bikes[iso_utc(snapshot.snapshot_time)] = [readings.get(station.code) for station in stations]
    return bikes


def health_of(recording: Recording) -> Health:
    polls = [poll for poll in recording.polls(STATUS_FEED) if not poll.is_gap]
    return Health(
        info=describe(recording),
        times=[poll.fetched_text for poll in polls],
        latency_ms=[poll.latency_ms for poll in polls],
        feed_age_s=[
            None if poll.last_updated is None else poll.fetched_at.timestamp() - poll.last_updated for poll in polls
        ],
    )


def with_recording(data: ReportData, recording: Recording) -> ReportData:
    """The map and the health section, which only a recording can give."""
    data.stations = stations_of(recording)
    if not data.stations:
        data.notes.append("no station_information in the recording: no map")
    data.bikes = bikes_over_time(recording, data.stations) if data.stations else {}
    data.health = health_of(recording)
    return data


def from_recording(path: Path, postcodes: Mapping[str, str]) -> ReportData:
    """What the job must give over the recording (the reference computation), with its map and health."""
    recording = Recording(path)
    try:
        rows = list(over_recording(recording, postcodes).values())
        if not rows:
            raise UserError(f"{path}: no valid snapshot, nothing to report")
        source = f"reference computation over {path}"
        return with_recording(ReportData(title=path.name, source=source, rows=rows), recording)
    except (ValueError, OverflowError) as error:  # a feed clock out of range: `play` refuses such a body too
        raise UserError(f"{path}: a snapshot cannot be reported, its feed clock is unusable ({error})") from None


def from_topic(
    kafka: KafkaTarget,
    topic: str,
    recording_path: Path | None = None,
    key_fields: tuple[str, ...] | None = None,
) -> ReportData:
    """What the job gave (latest value per key of the topic, or per ``key_fields`` for a topic written without
    keys); map and health when a recording is given."""
    contents = read_latest(kafka, topic, key_fields=key_fields)
    recording = Recording(recording_path) if recording_path else None
    return from_contents(contents, f"topic {topic} on {kafka.servers}", topic, recording)


def from_contents(contents: TopicContents, source: str, title: str, recording: Recording | None) -> ReportData:
    """A report of indicators already read from a topic; its doubts are said on the page."""
    if not contents.latest:
        raise UserError(f"{source} holds no readable indicator row, nothing to report")
    rows, misfits = fitting(contents.latest.values(), own_rows=contents.key_fields is not None)
    if not rows:
        raise UserError(f"{source} holds no indicator row that fits the contract ({misfits}), nothing to report")
    data = ReportData(title=title, source=source, rows=rows)
    data.notes += [note for note in (contents.unreadable_summary(), misfits, contents.doubt()) if note]
    return with_recording(data, recording) if recording else data
