"""Running scenarios on the embedded stack (or given servers), each with topics and a checkpoint of its own.

scenario file ─▶ spec.load ─▶ steps (play, process, restart_broker, kill_job) ─▶ judge ─▶ report
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from velib_replay.errors import UserError
from velib_replay.job.pipeline import fresh_topics
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka import broker as kafka_broker
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.scenario.spec import Scenario, load
from velib_replay.scenario.steps import STEPS, Stack
from velib_replay.verify.diff import compare, describe
from velib_replay.verify.expected import count_mismatches, outcome
from velib_replay.verify.golden import read_golden
from velib_replay.verify.topic import read_latest


@dataclass
class Result:
    name: str
    messages: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None  # the scenario could not run to its judgement (a bad step, a crash): why

    @property
    def passed(self) -> bool:
        return not self.problems and self.error is None

    @property
    def verdict(self) -> str:
        return "error" if self.error else "pass" if self.passed else "fail"


def run_scenarios(
    files: list[Path],
    *,
    kafka: KafkaTarget | None = None,
    broker: kafka_broker.Broker | None = None,
    spark: Callable[[], Any] | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every scenario in ``files``, in order; an embedded broker is started (and stopped) unless one is given."""
    checks = {name: kind.check for name, kind in STEPS.items()}
    scenarios = [load(path, checks) for path in files]  # every file is checked before anything runs
    with (
        tempfile.TemporaryDirectory(prefix="velib-scenarios-") as workdir,
        _stack_broker(kafka, broker, Path(workdir)) as (servers, embedded),
    ):
        session = spark or cache(_spark)
        results = []
        for scenario in scenarios:
            results.append(run_scenario(scenario, servers, embedded, session, Path(workdir)))
            if on_result:
                on_result(results[-1])
        return results


def run_scenario(
    scenario: Scenario,
    kafka: KafkaTarget,
    broker: kafka_broker.Broker | None,
    spark: Callable[[], Any],
    workdir: Path,
) -> Result:
    """One scenario: its steps, then its judgement; a failing step is a failed scenario, not a crash."""
    started = time.monotonic()
    suffix = uuid.uuid4().hex[:8]
    folder = workdir / f"{scenario.name}-{suffix}"
    folder.mkdir()
    job = fresh_topics(kafka, scenario.partitions).job_config(folder / "checkpoint", **scenario.job)
    stack = Stack(scenario, job, folder, spark, broker)
    result = Result(scenario.name)
    try:
        for step in scenario.steps:
            STEPS[step.kind].run(stack, step.args)
        result.problems = judge(stack)
    except UserError as error:
        result.problems = [f"{error}"]
    except Exception as error:  # a misspelt fault, a crash: this scenario's error, never the whole run's
        result.error = f"{type(error).__name__}: {error}".splitlines()[0]
    result.messages, result.faults = stack.messages, stack.faults
    result.seconds = time.monotonic() - started
    return result


def judge(stack: Stack) -> list[str]:
    """What differs from the expectation: indicators, the quarantine topic's count, the job's late count."""
    scenario = stack.scenario
    if stack.held is not None:
        stack.held.control.resume()  # let its thread end
        return ["a play with control = true was never resumed to its end"]
    if stack.pending:
        return ["messages were sent after the last process step: end the scenario with one"]
    expected = outcome(
        stack.rounds,
        load_postcodes(stack.job.stations_table),
        watermark_s=stack.watermark_s,
        max_offsets=stack.job.max_offsets_per_trigger,
    )
    indicators = read_golden(scenario.golden) if scenario.golden else expected.indicators
    problems = []
    difference = compare(indicators, read_latest(stack.job.kafka, stack.job.indicators_topic).latest)
    if not difference.equal:
        problems.append("indicators differ: " + describe(difference, limit=3))
    quarantined = read_latest(stack.job.kafka, stack.job.quarantine_topic).records
    late = sum(summary.dropped_late for summary in stack.summaries) if stack.late_known else None
    problems += count_mismatches(expected, quarantined, late)
    for name, pinned, value in (
        ("quarantined", scenario.quarantined, expected.quarantined),
        ("late", scenario.late, expected.late_groups),
    ):
        if pinned is not None and pinned != value:
            problems.append(f"{name}: the scenario pins {pinned}, the expectation is {value}")
    return problems


@contextlib.contextmanager
def _stack_broker(
    kafka: KafkaTarget | None, broker: kafka_broker.Broker | None, workdir: Path
) -> Iterator[tuple[KafkaTarget, kafka_broker.Broker | None]]:
    """The Kafka to use, and the embedded broker steps may restart (None with --bootstrap-servers)."""
    if kafka is not None or broker is not None:
        yield (kafka or KafkaTarget(broker.bootstrap_servers)), broker
        return
    embedded = kafka_broker.on_free_ports(workdir / "kafka")
    kafka_broker.start(embedded, timeout=180)
    try:
        yield KafkaTarget(embedded.bootstrap_servers), embedded
    finally:
        kafka_broker.stop(embedded)


def _spark():
    from velib_replay.job.session import spark_session

    return spark_session("local[2]")
