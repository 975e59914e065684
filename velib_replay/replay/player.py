"""Replaying a recording to Kafka on schedule, and accounting for every message.

Each slot's messages are built before the slot is due, then sent together when
it is, so message encoding does not eat into the pacing; the pacing error
(actual minus scheduled send time) is measured for every snapshot, and the
delivery latency (send to acknowledgement) for every snapshot's batch.

A replay never says success for nothing: the selection is refused when empty, the
recording's bodies are checked before the first message is sent (unless told not
to), and a replay stopped by a signal or a bad body still ends with its statistics.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import KafkaError

from velib_replay.contracts.feed import iso_utc
from velib_replay.contracts.messages import Message, body_messages, selected, snapshot_messages
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.delivery import percentiles_ms
from velib_replay.kafka.publisher import Publisher, open_publisher
from velib_replay.kafka.topics import end_offsets, ensure_topics, status_topic
from velib_replay.recording import Recording, RecordingError, Snapshot
from velib_replay.recording.repeats import without_repeats
from velib_replay.replay.control import Control
from velib_replay.replay.faults import Fault, Injector, Ledger
from velib_replay.replay.ledger import FaultLogError, open_ledger, sent_line
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import (
    Anchor,
    ReplayPlan,
    Slot,
    Timeline,
    empty_window_reason,
    rebase_shift,
    window,
)
from velib_replay.replay.retention import feed_time_refusal
from velib_replay.signals import StopRequest

UNUSABLE = (RecordingError, ValueError, OverflowError)  # a body that does not parse, a feed clock out of range


def unusable(snapshot: Snapshot, error: Exception) -> str:
    """One line naming the file, whatever made the snapshot unusable."""
    if isinstance(error, RecordingError):
        return str(error)
    return f"{snapshot.recording.path / snapshot.poll.meta_file}: unusable snapshot ({error})"


@dataclass
class PlayStats:
    """End-of-replay statistics, in the spirit of tcpreplay's."""

    snapshots: int = 0
    messages: int = 0
    bytes: int = 0
    delivered: int = 0
    failed: int = 0
    skipped_invalid: int = 0  # snapshots not sent because their body could not be read or parsed
    repeated: int = 0  # snapshots sent that repeat the one before (``recording.repeats``)
    skipped_repeated: int = 0  # repeats left out by --skip-repeated
    first_error: str | None = None
    interrupted: str | None = None  # the signal that stopped sending early (SIGINT, SIGTERM)
    aborted: str | None = None  # what stopped sending early: an unreadable body, a client that gave up
    wall_s: float = 0.0
    replayed_span_s: float = 0.0
    pacing_errors_ms: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)  # injected faults by kind (--inject)
    paused_s: float = 0.0  # time held by --control (pause, step), apart from the pacing error
    actions: list[dict] = field(default_factory=list)  # the control actions taken, in order, with their time

    @property
    def undelivered(self) -> int:
        return self.messages - self.delivered

    def pacing(self) -> dict[str, float]:
        """p50 / p99 / max of the pacing error in ms (empty at max speed, where nothing is scheduled)."""
        return percentiles_ms(self.pacing_errors_ms)

    def latency(self) -> dict[str, float]:
        """p50 / p99 / max of the delivery latency in ms, one sample per snapshot's batch."""
        return percentiles_ms(self.latencies_ms)

    def achieved_speed(self) -> float | None:
        """Feed time replayed per second of sending: time held by --control is not sending, so it is left out."""
        sending = self.wall_s - self.paused_s
        return round(self.replayed_span_s / sending, 2) if self.replayed_span_s and sending > 0 else None

    def as_dict(self) -> dict:
        wall = self.wall_s or float("nan")
        return {
            "snapshots": self.snapshots,
            "messages": self.messages,
            "bytes": self.bytes,
            "delivered": self.delivered,
            "failed": self.failed,
            "undelivered": self.undelivered,
            "skipped_invalid": self.skipped_invalid,
            "repeated": self.repeated,
            "skipped_repeated": self.skipped_repeated,
            "first_error": self.first_error,
            "interrupted": self.interrupted,
            "aborted": self.aborted,
            "wall_s": round(self.wall_s, 3),
            "replayed_span_s": self.replayed_span_s,
            "achieved_speed": self.achieved_speed(),
            "messages_per_s": round(self.messages / wall, 1),
            "mb_per_s": round(self.bytes / wall / 1e6, 3),
            "pacing": {name: round(value, 3) for name, value in self.pacing().items()},
            "delivery_latency": {name: round(value, 3) for name, value in self.latency().items()},
            "faults": dict(sorted(self.faults.items())),
            "paused_s": round(self.paused_s, 3),
            "control_actions": self.actions,
        }


def play(
    slots: Iterable[Slot],
    publisher: Publisher,
    *,
    speed: float | None,
    wanted: frozenset[str] | None = None,
    on_sent: Callable[[Slot], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    stop: StopRequest | None = None,
    skip_invalid: bool = False,
    faults: Sequence[Fault] = (),
    seed: int = 0,
    ledger: Ledger | None = None,
    control: Control | None = None,
) -> PlayStats:
    """Send every slot at its due time (scaled by ``speed``; None = no waiting), then flush.

    With ``control``, the slots come from it instead (its timeline, at its speed): it pauses, steps, seeks and
    changes speed while this plays, and the time paused is kept apart from the pacing error.
    Sending stops early, at a snapshot boundary, when ``stop`` is set, at the first unreadable body
    (unless ``skip_invalid``: then it is counted and skipped), when the client gives up on the broker,
    and when a whole loop pass sent nothing. ``faults`` are injected on the way with ``seed`` (``replay.faults``),
    and each one applied is passed to ``ledger``.
    Whatever was queued is flushed in every case, so the statistics always account for it.
    """
    stats = PlayStats()
    injector = Injector(faults, seed, ledger) if faults else None
    started = clock()
    anchor = Anchor(speed)
    first_due: float | None = None
    offered = 0  # messages the recording gave, before faults: a reorder window or late ones may hold them all
    try:
        for slot in slots if control is None else control.slots(stop):
            if stop:
                break
            if slot.loop_pass > 0 and offered == 0:
                break  # an endless loop over nothing to send would never end
            try:
                messages = slot_messages(slot.snapshot, slot.snapshot_time, wanted)
            except UNUSABLE as error:
                if not skip_invalid:
                    stats.aborted = unusable(slot.snapshot, error)
                    break
                stats.skipped_invalid += 1
                if control is not None:
                    control.skipped()
                continue
            offered += len(messages)
            first_due = slot.due if first_due is None else first_due
            if control is None:
                target = anchor.target(slot.due, clock())
                if target is not None and target > clock():
                    sleep(target - clock())
            else:
                pace = control.pace(slot)
                target = pace.target
                if target is not None and target > clock() and control.wait(target - clock(), pace.version, stop):
                    continue  # paused, seeked or sped up meanwhile: look again
            if injector is not None:
                sleep(injector.pause_before(slot))  # a stall: the pacing then catches up in a burst
                messages = injector.apply(slot, messages)
            if stop:
                break
            if target is not None:
                stats.pacing_errors_ms.append((clock() - target) * 1000)
            try:
                publisher.send(messages)  # kafka-python raises once the broker stayed away past --broker-wait
            except KafkaError as error:
                stats.aborted = gave_up(error)
                break
            stats.snapshots += 1
            stats.repeated += slot.repeat
            stats.skipped_repeated += slot.left_out
            stats.messages += len(messages)
            stats.replayed_span_s = slot.due - first_due
            if control is not None:
                control.sent(slot, len(messages))
            if on_sent:
                on_sent(slot)
        if injector is not None and not stats.aborted:
            try:
                publisher.send(held := injector.drain())
                stats.messages += len(held)
            except KafkaError as error:
                stats.aborted = gave_up(error)
    except FaultLogError as error:  # a full disk: stop where the log stops, and say it is incomplete
        stats.aborted = str(error)
    finally:
        if control is not None:
            control.finish()
            stats.paused_s, stats.actions = control.paused_s, list(control.actions)
            if ledger is not None:
                ledger(sent_line(control.sent_runs))
        stats.faults = injector.counts if injector is not None else Counter()
        delivery = publisher.flush()
        stats.wall_s = clock() - started
        stats.bytes, stats.delivered, stats.failed = delivery.bytes, delivery.delivered, delivery.failed
        stats.messages = max(stats.messages, delivery.sent)  # a send that raised may have queued part of its batch
        stats.first_error = delivery.first_error
        stats.latencies_ms = list(delivery.latencies_ms)
        stats.interrupted = stop.reason if stop is not None else None
    return stats


def gave_up(error: KafkaError) -> str:
    return f"Kafka gave up: {type(error).__name__}: {error}"


def slot_messages(snapshot: Snapshot, snapshot_time: int, wanted: frozenset[str] | None) -> Sequence[Message]:
    """A snapshot's messages from its body's own bytes; a body that is not plain JSON goes through the
    parse, which names what is wrong with it."""
    found = body_messages(snapshot.recording.body(snapshot.poll), snapshot_time, wanted, snapshot.context)
    return found if found is not None else snapshot_messages(snapshot.stations, snapshot_time, wanted)


def select_snapshots(recording: Recording, plan: ReplayPlan) -> list[Snapshot]:
    """The snapshots in the plan's window, in fetch order; a UserError saying why when there are none."""
    snapshots = list(recording.snapshots())
    chosen = window(snapshots, plan.start, plan.end)
    if not chosen:
        raise UserError(f"{recording.path}: nothing to play: {empty_window_reason(snapshots, plan.start, plan.end)}")
    return chosen


def used_snapshots(snapshots: Sequence[Snapshot], plan: ReplayPlan) -> Sequence[Snapshot]:
    """The snapshots the plan will really send at least once: ``--limit`` may cut the first pass short."""
    sent = without_repeats(snapshots) if plan.skip_repeated else snapshots
    return sent[: plan.limit] if plan.limit is not None else sent


@dataclass
class CheckReport:
    """What reading every body once found: stations each snapshot will send, and the unusable bodies."""

    stations: dict[str, int] = field(default_factory=dict)  # meta file → selected stations
    invalid: list[str] = field(default_factory=list)  # one line each, naming the file


def check_snapshots(
    snapshots: Sequence[Snapshot],
    wanted: frozenset[str] | None,
    *,
    skip_invalid: bool = False,
    on_checked: Callable[[Snapshot], None] | None = None,
    stop: StopRequest | None = None,
) -> CheckReport:
    """Read and parse every body before anything is sent, so a bad one cannot stop a replay half-way.

    A UserError when a body is bad (unless ``skip_invalid``) or when nothing selected has a station to send.
    """
    report = CheckReport()
    for snapshot in snapshots:
        if stop:
            return report
        try:
            iso_utc(snapshot.snapshot_time)  # a feed clock out of range could not be stamped on its messages
            report.stations[snapshot.poll.meta_file] = len(selected(snapshot.stations, wanted))
        except UNUSABLE as error:
            report.invalid.append(unusable(snapshot, error))
        if on_checked:
            on_checked(snapshot)
    if report.invalid and not skip_invalid:
        more = f" (and {len(report.invalid) - 1} more)" if len(report.invalid) > 1 else ""
        raise UserError(f"{report.invalid[0]}{more}; nothing was sent (--skip-invalid skips bad bodies)")
    if not any(report.stations.values()):
        raise UserError(f"nothing to play: {nothing_to_send(wanted, all_invalid=not report.stations)}")
    return report


def nothing_to_send(wanted: frozenset[str] | None, *, all_invalid: bool) -> str:
    """Why a selection sends no message, in the options' own terms."""
    if all_invalid:
        return "every selected snapshot has an invalid body"
    if wanted is not None:
        return f"--stations {','.join(sorted(wanted))} matches no station of the selected snapshots"
    return "the selected snapshots hold no station"


def stamp_range(timeline: Timeline) -> tuple[int, int]:
    """The earliest and latest feed times (epoch seconds) ``timeline`` stamps on its records: later loop passes
    only shift times forward, so the first pass has the earliest, the last the latest (an endless loop: its first)."""
    per_pass = len(timeline.snapshots)
    count = timeline.size or per_pass
    first = [timeline.slot(position).snapshot_time for position in range(min(count, per_pass))]
    last = [timeline.slot(position).snapshot_time for position in range(max(0, count - per_pass), count)]
    return min(first), max(last)


def plan_slots(recording: Recording, plan: ReplayPlan, snapshots: Sequence[Snapshot] | None = None) -> Timeline:
    """The slots ``plan`` selects from ``recording`` (or from ``snapshots``, its already-selected window)."""
    chosen = select_snapshots(recording, plan) if snapshots is None else snapshots
    shift = rebase_shift(chosen[0].snapshot_time, plan.rebase_to) if plan.rebase_to else 0
    return Timeline.of(chosen, skip_repeated=plan.skip_repeated, passes=plan.passes, limit=plan.limit, time_shift=shift)


def replay_to_topic(
    recording: Recording,
    kafka: KafkaTarget,
    topic: str,
    options: PlayOptions | None = None,
    *,
    slots: Iterable[Slot] | None = None,
    on_sent: Callable[[Slot], None] | None = None,
    stop: StopRequest | None = None,
    control: Control | None = None,
) -> PlayStats:
    """Replay ``recording`` to ``topic`` (created if absent) as ``options`` say; every message accounted for.

    ``slots`` replaces the plan's own selection when the caller already computed it (to count it); ``on_sent``
    hears each slot sent; ``stop`` ends the replay at a snapshot boundary; ``control``, made over the plan's
    timeline, drives the replay while it plays (``replay.control``). A UserError, before anything is sent, for what
    the options cannot honour, or when feed times are stamped and the topic would not keep them.
    """
    options = options or PlayOptions()
    plan = options.plan
    snapshots = select_snapshots(recording, plan)
    options.refuse_unhonourable(snapshots)
    timeline = plan_slots(recording, plan, snapshots)
    chosen = slots if slots is not None else timeline
    if options.timestamps == "feed":
        refusal = feed_time_refusal(kafka, topic, *stamp_range(timeline))
        if refusal:
            raise UserError(refusal)
    ensure_topics(kafka, [status_topic(topic, options.partitions)])
    origin = (topic, end_offsets(kafka, topic)) if options.fault_log is not None else None  # where the run starts
    with (
        open_ledger(options.fault_log, plan, options.faults, options.seed, origin) as ledger,
        open_publisher(
            kafka,
            topic,
            client=options.client,
            delivery_timeout_s=options.delivery_timeout_s,
            timestamps=options.timestamps,
        ) as publisher,
    ):
        return play(
            chosen,
            publisher,
            speed=plan.speed,
            wanted=plan.wanted,
            on_sent=on_sent,
            sleep=stop.sleep if stop is not None else time.sleep,
            stop=stop,
            skip_invalid=options.skip_invalid,
            faults=options.faults,
            seed=options.seed,
            ledger=ledger,
            control=control,
        )


def replay_delivered(
    recording: Recording, kafka: KafkaTarget, topic: str, options: PlayOptions | None = None, **hooks: Any
) -> PlayStats:
    """``replay_to_topic``, insisting on delivery: a UserError unless every message sent was delivered and the
    replay ran to its end. What the plugin's ``velib_play``, the scenarios' play step and the tests rely on."""
    stats = replay_to_topic(recording, kafka, topic, options, **hooks)
    if stats.undelivered or stats.aborted:
        reason = stats.aborted or stats.first_error
        raise UserError(f"replay incomplete: {stats.undelivered} of {stats.messages} messages undelivered ({reason})")
    return stats
