"""What the job must output after a faulted replay, computed without Spark: indicators, quarantined, late.

The fault log's header lets this module regenerate the exact stream ``play --inject`` sent (the injector
is deterministic; the regenerated faults must equal the log's lines). The stream is then judged by
``verify.reference`` message by message, with the watermark rule below.

Lateness rule (Spark 4's, measured; made deterministic by fixing the micro-batch boundaries):
  * the batches: each ``process --once`` round is one micro-batch, cut into batches of ``max_offsets``
    messages when the job runs with ``--max-offsets-per-trigger`` on a one-partition topic; a round
    ends with an empty batch (Spark's no-data batch, run when the watermark has moved);
  * the watermark after batch k: W(k) = max(W(k-1), largest event time of batch k's usable messages
    minus ``WATERMARK``); none before the first usable message;
  * batch k drops, as too late, each usable message whose event time is at or below W(k-2): Spark
    filters late rows with the watermark of the batch *before*, so a message is only late against
    batches at least two micro-batches back (or the rounds before);
  * the job counts its drops after partial aggregation: one per (snapshot_time, postcode) group per
    batch (``late_groups``, what ``process --summary-json`` reports as dropped_late), not per message.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from velib_replay.contracts.feed import Station, iso_utc, station_code
from velib_replay.contracts.indicators import MAX_FUTURE_S, UNKNOWN_POSTCODE, Indicator, snapshot_epoch
from velib_replay.contracts.messages import Message, selected, snapshot_messages
from velib_replay.errors import UserError
from velib_replay.recording import Recording
from velib_replay.replay.faults import Injector
from velib_replay.replay.ledger import FaultLog
from velib_replay.replay.pacing import ReplayPlan, Slot
from velib_replay.replay.player import UNUSABLE, plan_slots
from velib_replay.verify.reference import compute, read_message
from velib_replay.verify.topic import TopicContents


@dataclass
class Expected:
    indicators: dict[str, Indicator]
    quarantined: int = 0
    late_messages: int = 0  # messages dropped as too late
    late_groups: int = 0  # the same drops as Spark counts them: (batch, snapshot_time, postcode) groups
    messages: int = 0  # how many messages the replay sent


def replayed_stream(recording: Recording, log: FaultLog, *, complete: bool = True) -> list[Message]:
    """The messages the logged replay sent, in order, regenerated; a UserError if the log's lines differ.

    ``complete=False``: what a replay still under way has handed to Kafka so far (``log.sent`` the positions sent
    until now): no final drain of held messages, and no fault lines to compare yet."""
    plan = ReplayPlan(**log.selection)
    if plan.endless and log.sent is None:
        raise UserError("a fault log of an endless replay (--loop without --limit) has no expected outcome")
    regenerated: list[dict] = []
    injector = Injector(log.faults, log.seed, regenerated.append)
    stream: list[Message] = []
    for slot in sent_slots(recording, log):
        try:
            messages = snapshot_messages(slot.snapshot.stations, slot.snapshot_time, plan.wanted)
        except UNUSABLE:
            continue  # play skips it too (or refuses the whole replay)
        injector.pause_before(slot)
        stream += injector.apply(slot, messages)
    if not complete:
        return stream
    stream += injector.drain()
    if regenerated != log.entries:
        raise UserError(
            f"the fault log ({len(log.entries)} faults) differs from what a replay of {recording.path} with its "
            f"settings gives ({len(regenerated)} faults): another recording, or an edited log?"
        )
    return stream


def sent_slots(recording: Recording, log: FaultLog) -> Iterable[Slot]:
    """The slots the logged replay went through: its plan's, or under --control those it sent, in order."""
    timeline = plan_slots(recording, ReplayPlan(**log.selection))
    return timeline if log.sent is None else (timeline.slot(position) for position in log.sent)


def outcome(
    rounds: Sequence[Sequence[bytes | None]],
    postcodes: Mapping[str, str],
    *,
    watermark_s: float,
    max_offsets: int | None = None,
    now: float | None = None,
    max_future: float = MAX_FUTURE_S,
) -> Expected:
    """The job's output over ``rounds`` of message values (one ``process --once`` each), by the rule above."""
    now = time.time() if now is None else now
    kept: list[tuple[int, list[Station]]] = []
    expected = Expected(indicators={})
    watermarks: list[float | None] = [None, None]  # W(k-2), W(k-1)
    for batch in _batches(rounds, max_offsets):
        late: set[tuple[int, str]] = set()
        newest = None
        for value in batch:
            judged = read_message(value, now, max_future)
            if isinstance(judged, str):
                expected.quarantined += 1
                continue
            station, epoch = judged
            newest = epoch if newest is None else max(newest, epoch)
            if watermarks[0] is not None and epoch <= watermarks[0]:
                expected.late_messages += 1
                late.add((epoch, postcodes.get(station_code(station), UNKNOWN_POSTCODE)))
            else:
                kept.append((epoch, [station]))
        expected.late_groups += len(late)
        watermarks = [watermarks[1], _advanced(watermarks[1], newest, watermark_s)]
    expected.indicators = compute(kept, postcodes)
    return expected


def _advanced(watermark: float | None, newest: int | None, delay_s: float) -> float | None:
    if newest is None:
        return watermark
    return newest - delay_s if watermark is None else max(watermark, newest - delay_s)


def _batches(rounds: Sequence[Sequence[bytes | None]], max_offsets: int | None) -> Iterator[Sequence[bytes | None]]:
    for values in rounds:
        size = max_offsets or max(len(values), 1)
        yield from (values[start : start + size] for start in range(0, len(values), size))
        yield []  # the round's no-data batch


def minus_ledger(
    sent: Iterable[tuple[int, Iterable[Station]]], entries: Sequence[dict], postcodes: Mapping[str, str]
) -> dict[str, Indicator]:
    """The indicators straight from the log's lines, no stream needed: what the faithful replay ``sent``
    ((snapshot_time, stations) per slot) minus dropped and corrupted readings, skewed ones moved to the
    time they were sent with. Late drops are left aside: this holds when none are expected.

    Lines are matched to readings one for one: a snapshot sent twice (a repeated feed time, a loop) has
    one reading of a station per sending, and a fault hits one of them."""
    gone = Counter((e["stationCode"], e["snapshot_time"]) for e in entries if e["fault"] in ("drop", "corrupt"))
    moved: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    for entry in entries:
        if entry["fault"] == "skew":
            moved[entry["stationCode"], entry["snapshot_time"]].append(entry["sent_time"])
    readings: list[tuple[int, list[Station]]] = []
    for snapshot_time, stations in sent:
        sent_as = iso_utc(snapshot_time)
        for station in stations:
            key = (station_code(station), sent_as)
            if gone[key]:
                gone[key] -= 1
                continue
            readings.append((snapshot_epoch(moved[key].pop() if moved.get(key) else sent_as), [station]))
    return compute(readings, postcodes)


def expected_after(
    recording: Recording,
    log: FaultLog,
    postcodes: Mapping[str, str],
    *,
    watermark_s: float,
    max_offsets: int | None = None,
) -> Expected:
    """What one faulted replay (onto an empty one-partition topic), then ``process --once``, must give."""
    stream = replayed_stream(recording, log)
    expected = outcome([[m.value for m in stream]], postcodes, watermark_s=watermark_s, max_offsets=max_offsets)
    expected.messages = len(stream)
    if not expected.late_messages:  # two computations, one from the stream, one from the log's lines alone
        wanted = log.selection["wanted"]
        sent = ((slot.snapshot_time, selected(slot.snapshot.stations, wanted)) for slot in sent_slots(recording, log))
        if minus_ledger(sent, log.entries, postcodes) != expected.indicators:
            raise UserError("the fault log's lines disagree with the stream they came from: an edited log?")
    return expected


def count_mismatches(expected: Expected, quarantined: int, dropped_late: int | None) -> list[str]:
    """One line per count that differs from the expectation (``dropped_late`` None: not checked)."""
    problems = []
    if quarantined != expected.quarantined:
        problems.append(f"quarantined: expected {expected.quarantined}, got {quarantined}")
    if dropped_late is not None and dropped_late != expected.late_groups:
        problems.append(
            f"dropped as late: expected {expected.late_groups} (from {expected.late_messages} messages), "
            f"got {dropped_late}"
        )
    return problems


def refuse_other_runs(log: FaultLog, ends: dict[int, int], sent: int) -> None:
    """A UserError unless the status topic holds the logged run alone: the expectation is of that run, on an empty
    topic; anything before or after it would be judged as if the run had sent it."""
    if log.start_offsets is None or log.topic is None:
        raise UserError("this fault log does not say where its run started (an older play wrote it): replay again")
    before = sum(log.start_offsets.values())
    after = sum(ends.values()) - before - sent
    if before or after:
        raise UserError(
            f"topic {log.topic} holds {before} message(s) from before the logged run and {after} after it, besides"
            f" the {sent} it sent: verify --fault-log judges one run on topics of its own (play to a fresh --topic)"
        )


def run_quarantined(contents: TopicContents, log: FaultLog) -> int:
    """Quarantine records of the logged run's messages: keyed ``topic:partition:offset``, from where it started."""
    start = log.start_offsets or {}
    keys = [*contents.latest, *contents.unreadable_latest]
    return sum(1 for key in keys if _from_run(key, log.topic, start))


def _from_run(key: str, topic: str | None, start: dict[int, int]) -> bool:
    name, _, place = key.rpartition(":")
    source, _, partition = name.rpartition(":")
    if source != topic or not (partition.isdigit() and place.isdigit()):
        return False
    return int(partition) in start and int(place) >= start[int(partition)]
