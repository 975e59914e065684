"""The engine: the baseline run, one run per fault, and each run's output compared with the baseline's.

Every run shares the SparkSession and the broker (a job start is the cost each run pays: nothing else is
started twice) and gets fresh topics and a fresh checkpoint, so runs never see each other's data. Each run
plays the recording with the same seed; the restarts split it in two halves, the restart happening while
the job reads the first half, and the job then resumes from its checkpoint on the second half.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from velib_replay import config
from velib_replay.errors import UserError
from velib_replay.kafka import broker as kafka_broker
from velib_replay.kafka import topics
from velib_replay.kafka.broker import Broker
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import plan_slots, replay_to_topic
from velib_replay.robustness.catalogue import BROKER_RESTART, CATALOGUE, MatrixFault
from velib_replay.robustness.user_job import Job, at_first_batch, run_to_end
from velib_replay.verify.diff import Difference, compare
from velib_replay.verify.topic import read_latest

ROBUST, SENSITIVE, UNCHANGED, CHANGED, FAILED, STOPPED, SKIPPED = (
    "robust",
    "sensitive",
    "unchanged",
    "changed",
    "failed",
    "stopped",
    "skipped",
)
BROKER_START_S = 120.0


@dataclass
class Run:
    """One run of the job: its output (latest row per key), what went wrong, and where its time went."""

    latest: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None
    doubt: str | None = None  # output records that could not be read
    faulted: int | None = None  # messages the injected fault touched (None: a restart)
    note: str | None = None  # what the run could not do as planned
    seconds: dict[str, float] = field(default_factory=lambda: {"replay": 0.0, "job": 0.0, "compare": 0.0})


@dataclass
class Row:
    """One line of the table."""

    fault: str
    invariant: bool
    what: str
    faulted: int | None
    keys_changed: int
    keys_total: int
    largest: dict[str, float]  # numeric field -> its largest change (signed) over the keys in both outputs
    verdict: str
    cause: str | None  # one line: the failure, or the likely cause of a change
    seconds: dict[str, float]


@dataclass
class Matrix:
    """The table, one row per fault, by name: ``matrix["duplicate"].verdict``."""

    rows: dict[str, Row]
    baseline_keys: int
    baseline_seconds: dict[str, float]
    seconds: float = 0.0  # the whole matrix, baseline included

    def __getitem__(self, name: str) -> Row:
        return self.rows[name]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class Setting:
    """What every run shares."""

    spark: Any
    kafka: KafkaTarget  # the job is handed its servers alone (the job signature)
    workdir: Path
    broker: Broker | None = None  # the embedded broker, restarted by broker-restart (None: that row is skipped)
    key_fields: tuple[str, ...] | None = None
    seed: int = 0
    wanted: frozenset[str] | None = None


def run_matrix(
    job: Job,
    recording: Recording,
    setting: Setting,
    faults: Sequence[str] | None = None,
    on_row: Callable[[Row], None] | None = None,
) -> Matrix:
    """The baseline, then each fault (all by default) in the catalogue's order; ``on_row`` hears each row."""
    started = time.monotonic()
    baseline = _run(job, recording, setting, None, "baseline")
    if baseline.failure:
        raise UserError(f"the job failed on the faithful replay (the baseline): {baseline.failure}")
    if not baseline.latest:
        raise UserError("the job wrote no output on the faithful replay (the baseline): nothing to compare with")
    if baseline.doubt:
        raise UserError(f"the job's output on the faithful replay (the baseline) is not readable: {baseline.doubt}")
    _check_key_fields(baseline.latest, setting.key_fields)
    rows = {}
    for fault in CATALOGUE:
        if faults is None or fault.name in faults:
            rows[fault.name] = judged(fault, baseline, _run(job, recording, setting, fault, fault.name))
            if on_row:
                on_row(rows[fault.name])
    return Matrix(rows, len(baseline.latest), baseline.seconds, time.monotonic() - started)


def _check_key_fields(latest: dict[str, Any], fields: tuple[str, ...] | None) -> None:
    """Refuse key fields that no output row has: every row would be keyed null, and one row would stand for all."""
    rows = [row for row in latest.values() if isinstance(row, dict)]
    if fields and rows and not any(name in row for row in rows for name in fields):
        seen = sorted({name for row in rows for name in row})
        raise UserError(f"no output row has the key fields {','.join(fields)}: the rows' fields are {', '.join(seen)}")


def _run(job: Job, recording: Recording, setting: Setting, fault: MatrixFault | None, label: str) -> Run:
    run = Run()
    if fault is not None and fault.name == BROKER_RESTART and setting.broker is None:
        run.failure = SKIPPED
        return run
    source, output = _fresh_topics(setting.kafka, label, fault.partitions if fault else 1)
    checkpoint = setting.workdir / source
    args = (setting.spark, job, setting.kafka.servers, source, output, checkpoint)
    slots = list(plan_slots(recording, ReplayPlan(wanted=setting.wanted)))
    if fault is None or fault.inject:
        _play(run, recording, setting, source, slots, fault)
        _timed(run, "job", lambda: run_to_end(*args))
    else:  # a restart while the job reads the first half; the job resumes from its checkpoint for the second
        half = len(slots) // 2
        _play(run, recording, setting, source, slots[:half], None)
        action = _restart_broker(setting.broker) if fault.name == BROKER_RESTART else _stop_queries
        _timed(run, "job", lambda: _under(run, fault, at_first_batch(*args, action)))
        _play(run, recording, setting, source, slots[half:], None)
        _timed(run, "job", lambda: run_to_end(*args))
    if run.failure is None:
        started = time.monotonic()
        contents = read_latest(setting.kafka, output, key_fields=setting.key_fields)
        run.latest, run.doubt = contents.latest, contents.doubt()
        run.seconds["compare"] += time.monotonic() - started
    return run


def _fresh_topics(kafka: KafkaTarget, label: str, partitions: int) -> tuple[str, str]:
    """The run's own source (``partitions``) and output topics, plain, under new names: no run sees another's."""
    suffix = uuid.uuid4().hex[:10]
    source, output = f"robustness-{label}-{suffix}", f"robustness-{label}-{suffix}-output"
    topics.ensure_topics(kafka, [topics.status_topic(source, partitions), topics.status_topic(output)])
    return source, output


def _play(run: Run, recording: Recording, setting: Setting, topic: str, slots: list, fault: MatrixFault | None) -> None:
    started = time.monotonic()
    faults = fault.faults() if fault else []
    plan = ReplayPlan(wanted=setting.wanted)  # its stations filter the slots' messages
    options = PlayOptions(plan, tuple(faults), seed=setting.seed)
    stats = replay_to_topic(recording, setting.kafka, topic, options, slots=slots)
    run.seconds["replay"] += time.monotonic() - started
    if stats.undelivered or stats.aborted:
        raise UserError(f"replay incomplete: {stats.undelivered} undelivered ({stats.first_error or stats.aborted})")
    if fault is not None and fault.inject:
        run.faulted = sum(stats.faults.values())


def _timed(run: Run, phase: str, step: Callable[[], str | None]) -> None:
    started = time.monotonic()
    if run.failure is None:
        run.failure = step()
    run.seconds[phase] += time.monotonic() - started


def _under(run: Run, fault: MatrixFault, outcome: tuple[str | None, bool]) -> str | None:
    """The failure of a job run under a restart; a note when the job had ended before the restart came."""
    failure, running = outcome
    if not running and failure is None:
        run.note = f"the job had read its first half before the {fault.name}: only its resumption was put to the test"
    return failure


def _stop_queries(queries: list) -> None:
    for query in queries:
        query.stop()


def _restart_broker(broker: Broker) -> Callable[[list], None]:
    def restart(_queries: list) -> None:
        kafka_broker.stop(broker)
        kafka_broker.start(broker, timeout=BROKER_START_S)

    return restart


def judged(fault: MatrixFault, baseline: Run, run: Run) -> Row:
    """The table's row for ``run`` under ``fault``: its output against the baseline's, and the verdict."""
    started = time.monotonic()
    difference = compare(baseline.latest, run.latest)
    changed = len(difference.missing) + len(difference.extra) + len(difference.changed)
    largest = largest_changes(difference)
    verdict, cause = _verdict(fault, run, difference, largest)
    cause = "; ".join(filter(None, [cause, run.note])) or None
    run.seconds["compare"] += time.monotonic() - started
    total = len(set(baseline.latest) | set(run.latest))
    return Row(
        fault.name, fault.invariant, fault.what, run.faulted, changed, total, largest, verdict, cause, run.seconds
    )


def largest_changes(difference: Difference) -> dict[str, float]:
    """Per numeric field, the change of largest size (with its sign) over the keys whose row changed."""
    largest: dict[str, float] = {}
    for changes in difference.changed.values():
        for name, (want, got) in changes.items():
            if _number(want) and _number(got) and abs(got - want) > abs(largest.get(name, 0)):
                largest[name] = got - want
    return dict(sorted(largest.items()))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _verdict(fault: MatrixFault, run: Run, difference: Difference, largest: dict[str, float]) -> tuple[str, str | None]:
    if run.failure == SKIPPED:
        return SKIPPED, "needs the embedded broker (not an external one) to restart it"
    if run.failure:
        return FAILED, run.failure
    if not run.latest:
        return STOPPED, "the job wrote no output"
    if difference.equal and not run.doubt:
        return (ROBUST if fault.invariant else UNCHANGED), None
    return (SENSITIVE if fault.invariant else CHANGED), _cause(fault, run, difference, largest)


def _cause(fault: MatrixFault, run: Run, difference: Difference, largest: dict[str, float]) -> str | None:
    """What the evidence points to, in one line: the direction of the change, and for an invariant fault the
    catalogue's likely cause when the change is the one that cause makes (duplicates counted make output grow)."""
    if run.doubt:
        return f"output not readable: {run.doubt}"
    direction = _direction(difference, largest)
    if not fault.invariant or (fault.evidence and not (direction or "").startswith(fault.evidence)):
        return direction
    return f"{direction}: {fault.cause}" if direction else fault.cause


def _direction(difference: Difference, largest: dict[str, float]) -> str | None:
    parts = []
    if largest:
        signs = {change > 0 for change in largest.values()}
        parts.append("output grows" if signs == {True} else "output shrinks" if signs == {False} else "output moves")
    if difference.missing:
        parts.append(f"{_keys(len(difference.missing))} lost")
    if difference.extra:
        parts.append(f"{_keys(len(difference.extra))} added")
    return ", ".join(parts) or None


@contextmanager
def own_stack(workdir: Path, master: str = config.SPARK_MASTER) -> Iterator[tuple[Any, Broker]]:
    """An embedded broker on free ports in ``workdir`` and a SparkSession, for the whole matrix; both stopped after."""
    from velib_replay.job.session import spark_session  # pyspark only when a matrix runs

    embedded = Broker(workdir / "kafka", kafka_broker.free_port(), kafka_broker.free_port())
    kafka_broker.start(embedded, timeout=BROKER_START_S)
    try:
        spark = spark_session(master)
        try:
            yield spark, embedded
        finally:
            spark.stop()
    finally:
        kafka_broker.stop(embedded)


def _keys(count: int) -> str:
    return f"{count} key{'' if count == 1 else 's'}"
