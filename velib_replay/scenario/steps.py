"""The steps a scenario is made of: a check and a run each, registered by name in ``STEPS``.

The check turns a step's TOML table into typed arguments when the file is loaded, so a typo in step 3
fails before any broker starts. The run acts on the running stack (``Stack``) and records what the
expectation needs: the message values each play step sent (regenerated from its fault log, as ``verify``
does) and the job's summaries. A new kind of step is one check and one run added here.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from velib_replay import config
from velib_replay.capture.faults import HttpFault, parse_http_fault
from velib_replay.capture.live import kafka_connector
from velib_replay.capture.live_against_serve import live_against_serve, published_once
from velib_replay.contracts.messages import parse_station_filter
from velib_replay.errors import UserError
from velib_replay.job.config import QUERY_NAME, JobConfig, JobSummary
from velib_replay.job.runner import run_once
from velib_replay.kafka import broker as kafka_broker
from velib_replay.kafka import client_config
from velib_replay.observe.job_metrics import kafka_end_offsets
from velib_replay.recording import Recording
from velib_replay.replay.control import Control
from velib_replay.replay.faults import parse_fault
from velib_replay.replay.ledger import FaultLog, positions, read_ledger
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import Offset, ReplayPlan
from velib_replay.replay.player import PlayStats, plan_slots, replay_delivered
from velib_replay.scenario.spec import Scenario, known_keys, whole_number
from velib_replay.units import check_fault_set, parse_duration, parse_offset, parse_speed, spark_interval_seconds
from velib_replay.verify.expected import replayed_stream

JOB_START_TIMEOUT_S = 300.0  # a Spark JVM on a busy machine
CONTROL_WAIT_S = 120.0  # for a stepped snapshot to be sent and acknowledged


@dataclass
class Stack:
    """One scenario's running pipeline: its own topics and checkpoint, and what it has sent and computed."""

    scenario: Scenario
    job: JobConfig
    workdir: Path
    spark: Callable[[], Any]  # the Spark session, started on first use
    broker: kafka_broker.Broker | None  # the embedded broker, when the runner may restart it
    rounds: list[list[bytes | None]] = field(default_factory=list)  # per ``process`` round: the values sent
    pending: list[bytes | None] = field(default_factory=list)  # sent since the last round
    summaries: list[JobSummary] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    messages: int = 0
    late_known: bool = True  # a killed job's summary is lost: its late count cannot be checked
    plays: int = 0
    held: Held | None = None  # a play started with control = true, not yet resumed to its end

    @property
    def watermark_s(self) -> float:
        return spark_interval_seconds(self.job.watermark)


@dataclass(frozen=True)
class PlayArgs:
    options: PlayOptions  # its fault log and partitions are the stack's, set when the step runs
    restart_broker_after_s: float | None = None
    control: bool = False


def play_args(params: dict[str, Any]) -> PlayArgs:
    """``play`` with ``stations``, ``limit``, ``start``, ``end``, ``loop``, ``speed``, ``inject``, ``seed``,
    and ``restart_broker_after`` (a duration: the broker is restarted while the replay goes on).

    ``control = true`` starts the replay held, before its first snapshot: ``step``, ``seek``, ``pause`` and
    ``resume`` steps then drive it (``resume`` lets it run to its end), and other steps run while it is held."""
    known = {"stations", "limit", "start", "end", "loop", "speed", "inject", "seed", "restart_broker_after", "control"}
    known_keys(params, known, "parameter")
    if not isinstance(params.get("control", False), bool):
        raise ValueError(f"control = {params['control']!r}: true or false is wanted")
    plan = ReplayPlan(
        speed=parse_speed(str(params.get("speed", config.TEST_SPEED))),
        wanted=parse_station_filter(_text(params, "stations")),
        passes=whole_number(params, "loop", 1, least=0),
        start=parse_offset(_text(params, "start")) if "start" in params else None,
        end=parse_offset(_text(params, "end")) if "end" in params else None,
        limit=whole_number(params, "limit", None, least=1),
    )
    after = _text(params, "restart_broker_after")
    restart_after = parse_duration(after) if after else None
    faults = tuple(parse_fault(spec) for spec in _texts(params, "inject"))
    options = PlayOptions(plan, faults, seed=whole_number(params, "seed", 0))
    return PlayArgs(options, restart_after, params.get("control", False))


def play(stack: Stack, args: PlayArgs) -> None:
    recording = Recording(stack.scenario.recording)
    if stack.held is not None:
        raise UserError("a play with control = true is still held: resume it before the next play")
    stack.plays += 1
    log = stack.workdir / f"play-{stack.plays}.faults.jsonl"
    if args.control:
        stack.held = _held_replay(stack, recording, args, log)
        return
    restart = _restart_later(stack, args.restart_broker_after_s) if args.restart_broker_after_s is not None else None
    stats = replay_delivered(recording, stack.job.kafka, stack.job.status_topic, _on_stack(stack, args, log))
    if restart is not None:
        restart.join()
    _played(stack, recording, stats, log, 0)


def _on_stack(stack: Stack, args: PlayArgs, log: Path) -> PlayOptions:
    """The step's options on this stack: its topic's partitions, and this play's own fault log."""
    return replace(args.options, partitions=stack.scenario.partitions, fault_log=log)


def _played(stack: Stack, recording: Recording, stats: PlayStats, log: Path, already: int) -> None:
    """Account for a finished, delivered replay: its messages (after the ``already`` pending) for the next round."""
    stack.pending += [message.value for message in replayed_stream(recording, read_ledger(log))[already:]]
    stack.faults += stats.faults
    stack.messages += stats.messages


@dataclass
class Held:
    """A replay started with ``play = { control = true }``, running in a thread under its ``Control``."""

    control: Control
    thread: threading.Thread
    result: dict[str, Any]  # "stats", or the "error" that ended it
    recording: Recording
    sofar: FaultLog  # the log's settings, to regenerate what was sent until now
    log: Path
    base: int  # messages on the status topic when it started
    added: int = 0  # of its messages, those already pending for the next round


def _held_replay(stack: Stack, recording: Recording, args: PlayArgs, log: Path) -> Held:
    options = _on_stack(stack, args, log)
    plan = options.plan
    control = Control(plan_slots(recording, plan), plan.speed)
    control.pause()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["stats"] = replay_delivered(
                recording, stack.job.kafka, stack.job.status_topic, options, control=control
            )
        except UserError as error:  # said by the resume step, on the scenario's thread
            result["error"] = error

    selection = {name: getattr(plan, name) for name in ("wanted", "passes", "limit", "start", "end", "rebase_to")}
    base = _on_topic(stack)
    thread = threading.Thread(target=run, name="scenario-play", daemon=True)
    thread.start()
    sofar = FaultLog(options.seed, list(options.faults), selection, [])
    return Held(control, thread, result, recording, sofar, log, base)


def step_args(params: dict[str, Any]) -> int:
    """``step`` sends the next ``snapshots`` (default 1) of the held replay."""
    known_keys(params, {"snapshots"}, "parameter")
    return whole_number(params, "snapshots", 1, least=1)


def step(stack: Stack, count: int) -> None:
    """Send exactly the next ``count`` snapshots of the held replay, wait until Kafka has them, hold again."""
    held = _the_held(stack)
    before = held.control.status()["snapshots_sent"]
    try:
        held.control.step(count)
    except ValueError as error:
        raise UserError(f"step: {error}") from None
    deadline = time.monotonic() + CONTROL_WAIT_S
    while held.control.status()["snapshots_sent"] < before + count and held.thread.is_alive():
        if time.monotonic() > deadline:
            raise UserError("step: the replay did not send its snapshots in time")
        time.sleep(0.05)
    while _on_topic(stack) < held.base + held.control.messages:  # sent is not yet delivered
        if time.monotonic() > deadline:
            raise UserError("step: Kafka did not acknowledge the stepped snapshots in time")
        time.sleep(0.05)
    sofar = replace(held.sofar, sent=positions(held.control.sent_so_far()))
    values = [message.value for message in replayed_stream(held.recording, sofar, complete=False)]
    stack.pending += values[held.added :]
    held.added = len(values)


def seek_args(params: dict[str, Any]) -> Offset:
    """``seek`` moves the held replay ``to`` an offset (5m) or an ISO time."""
    known_keys(params, {"to"}, "parameter")
    if not isinstance(params.get("to"), str):
        raise ValueError("seek needs to = an offset (5m) or an ISO time within the replay")
    return parse_offset(params["to"])


def seek(stack: Stack, to: Offset) -> None:
    """Move the held replay: its next snapshot is the first at or after ``to``."""
    try:
        _the_held(stack).control.seek(to)
    except ValueError as error:
        raise UserError(f"seek needs to = an offset (5m) or an ISO time within the replay: {error}") from None


def pause(stack: Stack, _args: None = None) -> None:
    """Hold the controlled replay (it is held already after ``play = { control = true }`` and each ``step``)."""
    _the_held(stack).control.pause()


def resume(stack: Stack, _args: None = None) -> None:
    """Let the controlled replay run to its end (at its speed), and account for all it sent."""
    held = _the_held(stack)
    held.control.resume()
    held.thread.join()
    stack.held = None
    if "error" in held.result:
        raise held.result["error"]
    _played(stack, held.recording, held.result["stats"], held.log, held.added)


def _the_held(stack: Stack) -> Held:
    if stack.held is None:
        raise UserError("pause, step, seek and resume drive a play started with control = true: there is none")
    return stack.held


def _on_topic(stack: Stack) -> int:
    return sum(kafka_end_offsets(stack.job.kafka)(stack.job.status_topic).values())


def no_args(params: dict[str, Any]) -> None:
    """A step that takes no parameters: ``process = {}``."""
    known_keys(params, set(), "parameter")


def process(stack: Stack, _args: None = None) -> None:
    """One ``process --once`` round: everything sent since the last round."""
    stack.summaries.append(run_once(stack.job, stack.spark(), out=io.StringIO()))
    _end_round(stack)


def restart_broker(stack: Stack, _args: None = None) -> None:
    """Stop the embedded broker and start it again on its data (a broker restart between steps)."""
    if stack.broker is None:
        raise UserError("restart_broker needs the embedded broker (not --bootstrap-servers)")
    kafka_broker.stop(stack.broker)
    kafka_broker.start(stack.broker, timeout=120)


@dataclass(frozen=True)
class LiveArgs:
    faults: tuple[HttpFault, ...] = ()
    seed: int = 0
    wanted: frozenset[str] | None = None


def live_args(params: dict[str, Any]) -> LiveArgs:
    """``live`` polling ``serve --inject`` (``inject`` HTTP faults with ``seed``, ``stations``)."""
    known_keys(params, {"inject", "seed", "stations"}, "parameter")
    faults = tuple(parse_http_fault(spec) for spec in _texts(params, "inject"))
    check_fault_set(fault.kind for fault in faults)
    return LiveArgs(faults, whole_number(params, "seed", 0), parse_station_filter(_text(params, "stations")))


def live(stack: Stack, args: LiveArgs) -> None:
    """Poll until every body of the recording was served correctly: an API outage must cost nothing, each
    distinct snapshot published once."""
    recording = Recording(stack.scenario.recording)
    result = live_against_serve(
        recording,
        kafka_connector(stack.job.kafka, stack.job.status_topic),
        list(args.faults),
        seed=args.seed,
        wanted=args.wanted,
    )
    if not result.complete or result.lost or result.live.undelivered:
        raise UserError(f"live against serve lost snapshots: {result.as_dict()}")
    stack.pending += [message.value for message in published_once(recording, args.wanted)]
    stack.faults += Counter(result.faults)
    stack.messages += result.live.delivery.messages


def kill_job_args(params: dict[str, Any]) -> int:
    """``kill_job`` after ``after_batches`` micro-batches (default 1)."""
    known_keys(params, {"after_batches"}, "parameter")
    return whole_number(params, "after_batches", 1, least=1)


def kill_job(stack: Stack, after: int) -> None:
    """Start ``velib-replay process`` as a subprocess, SIGKILL it once it committed ``after`` micro-batches,
    then finish the round with a restarted job on the same checkpoint."""
    job = _job_process(stack.job, stack.workdir)
    commits = stack.job.checkpoint / QUERY_NAME / "commits"
    deadline = time.monotonic() + JOB_START_TIMEOUT_S
    try:
        while _committed(commits) < after:
            if job.poll() is not None or time.monotonic() > deadline:
                raise UserError(f"the job to be killed ended or stalled first (exit {job.returncode})")
            time.sleep(0.2)
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the job and its Spark JVM, at once: nothing gets to clean up
        job.wait()
    stack.late_known = False
    process(stack)


@dataclass(frozen=True)
class StepKind:
    check: Callable[[dict[str, Any]], Any]  # the TOML table → the run's arguments; ValueError naming the mistake
    run: Callable[[Stack, Any], None]


STEPS: dict[str, StepKind] = {
    "play": StepKind(play_args, play),
    "process": StepKind(no_args, process),
    "restart_broker": StepKind(no_args, restart_broker),
    "kill_job": StepKind(kill_job_args, kill_job),
    "live": StepKind(live_args, live),
    "step": StepKind(step_args, step),
    "seek": StepKind(seek_args, seek),
    "pause": StepKind(no_args, pause),
    "resume": StepKind(no_args, resume),
}


def _text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} = {value!r}: a string is wanted")
    return value


def _texts(params: dict[str, Any], name: str) -> list[str]:
    values = params.get(name, [])
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ValueError(f"{name} = {values!r}: a list of strings is wanted")
    return values


def _end_round(stack: Stack) -> None:
    stack.rounds.append(stack.pending)
    stack.pending = []


def _restart_later(stack: Stack, after_s: float) -> threading.Thread:
    def restart() -> None:
        time.sleep(after_s)
        restart_broker(stack)

    thread = threading.Thread(target=restart, name="restart-broker", daemon=True)
    thread.start()
    return thread


def _job_process(job: JobConfig, workdir: Path) -> subprocess.Popen:
    root = str(config.project_root())  # the package may be run from its checkout, not installed
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(
        job_command(job, workdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )


def job_command(job: JobConfig, workdir: Path) -> list[str]:
    """``velib-replay process`` for ``job``, on its cluster with its client settings (a secured one's too, through
    a properties file in the scenario's own temporary folder)."""
    command = [sys.executable, "-m", "velib_replay", "process", "--master", "local[2]", "--show", "0"]
    command += ["--checkpoint", str(job.checkpoint), "--bootstrap-servers", job.kafka.servers]
    command += ["--topic", job.status_topic, "--indicators-topic", job.indicators_topic]
    command += ["--quarantine-topic", job.quarantine_topic, "--watermark", job.watermark]
    command += ["--trigger-interval", "1 second"]
    if job.max_offsets_per_trigger:
        command += ["--max-offsets-per-trigger", str(job.max_offsets_per_trigger)]
    if job.kafka.settings.properties:
        command += ["--kafka-config", str(client_config.save(job.kafka.settings, workdir / "kafka-client.properties"))]
    return command


def _committed(commits: Path) -> int:
    return sum(1 for entry in commits.glob("[0-9]*")) if commits.exists() else 0
