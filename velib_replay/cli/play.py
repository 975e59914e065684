"""``velib-replay play``: publish a recording to Kafka at a chosen speed, and account for every message."""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from velib_replay import config
from velib_replay.cli import keys, options
from velib_replay.cli.stopping import finish
from velib_replay.cli.tables import table
from velib_replay.contracts.feed import iso_utc
from velib_replay.contracts.messages import selected
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.publisher import AUTO, CLIENTS
from velib_replay.recording import Recording, Snapshot
from velib_replay.replay.control import Control
from velib_replay.replay.control_server import ControlServer
from velib_replay.replay.faults import Fault
from velib_replay.replay.options import OptionError, PlayOptions
from velib_replay.replay.pacing import Slot, Timeline
from velib_replay.replay.player import (
    UNUSABLE,
    PlayStats,
    ReplayPlan,
    check_snapshots,
    nothing_to_send,
    plan_slots,
    replay_to_topic,
    select_snapshots,
    stamp_range,
    used_snapshots,
)
from velib_replay.replay.retention import feed_time_refusal
from velib_replay.signals import StopRequest


@click.command(
    "play",
    epilog=options.examples(
        "velib-replay play recordings/sample --speed max",
        "velib-replay play recordings/sample --speed 60x --stations 16107,32017 --dry-run",
        "velib-replay play recordings/sample --loop --limit 30 --speed max --skip-repeated --topic velib-loop",
    ),
)
@options.recording_argument
@click.option("--speed", type=options.SPEED, default=config.PLAY_SPEED, help="1x, 10x, 0.5x, 60 ... or max.")
@options.stations
@options.skip_repeated
@options.kafka_target
@options.status_topic
@click.option("--partitions", type=click.IntRange(min=1), default=1, help="Partitions if the topic is created now.")
@click.option(
    "--loop",
    type=click.IntRange(0, 10**9),
    is_flag=False,
    flag_value=0,
    default=1,
    help="Passes over the recording; 0, or --loop alone, repeats until stopped (Ctrl-C, or --limit). "
    "Each pass shifts snapshot times by the recording's span.",
)
@click.option("--start", "start_at", type=options.OFFSET, help="Skip what comes before this offset (90m) or ISO time.")
@click.option("--end", "end_at", type=options.OFFSET, help="Stop after this offset (90m) or ISO time.")
@click.option("--limit", type=click.IntRange(1, 10**12), default=None, help="Send at most N snapshots.")
@click.option(
    "--rebase-time", type=click.Choice(["now"]), default=None, help="Shift snapshot times so the first is now."
)
@click.option("--dry-run", is_flag=True, help="Print the schedule; send nothing.")
@click.option(
    "--check/--no-check",
    default=True,
    help="Read and parse every selected snapshot's body before sending the first message; "
    "--no-check starts at once (for huge recordings): a bad body then stops the replay where it is met.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Skip snapshots whose body cannot be read or parsed, counted in the statistics, instead of refusing.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no statistics table.")
@click.option(
    "--stats-json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the statistics as JSON here.",
)
@click.option(
    "--client",
    type=click.Choice((AUTO, *CLIENTS)),
    default=AUTO,
    envvar=options.env("KAFKA_CLIENT"),
    show_envvar=True,
    show_default=True,
    help="Kafka client library: auto takes librdkafka (confluent-kafka, 2-3x faster) when it is installed, "
    "else kafka-python; name one to force it.",
)
@click.option(
    "--broker-wait",
    type=options.DURATION,
    default=f"{config.DELIVERY_WAIT_S:g}s",
    help="How long to wait for an unreachable broker before counting messages as failed.",
)
@options.timestamps
@click.option(
    "--inject",
    "faults",
    type=options.FAULT,
    multiple=True,
    metavar="KIND=PARAMS",
    help="Inject a fault, repeatable: duplicate=P, reorder=N, late=P:DELAY, drop=P, corrupt=P, skew=P:±D, "
    "stall=AT:PAUSE (P a probability per message; docs/faults.md).",
)
@click.option(
    "--control",
    "controlled",
    is_flag=True,
    help="Open an HTTP control endpoint on 127.0.0.1 (its URL printed at start): GET /status, POST /pause, "
    '/resume, /step {"snapshots": N}, /seek {"to": "90m"}, /speed {"speed": "60x"}; '
    "`velib-replay dashboard --control URL` drives it from the page.",
)
@click.option(
    "--control-port",
    type=click.IntRange(0, 65535),
    default=config.CONTROL_PORT,
    envvar=options.env("CONTROL_PORT"),
    show_envvar=True,
    help="Port of the --control endpoint (0: any free port).",
)
@options.seed(
    0,
    "SEED",
    "Seed of the faults' random choices: the same seed and selection give the same faults, byte for byte.",
)
@click.option(
    "--fault-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write each fault applied here, one JSON line each (what `verify --fault-log` checks the job against).",
)
def command(
    recording: Path,
    speed: float | None,
    wanted: frozenset[str] | None,
    skip_repeated: bool,
    kafka: KafkaTarget,
    status_topic: str,
    partitions: int,
    loop: int,
    start_at: timedelta | datetime | None,
    end_at: timedelta | datetime | None,
    limit: int | None,
    rebase_time: str | None,
    dry_run: bool,
    check: bool,
    skip_invalid: bool,
    quiet: bool,
    stats_json: Path | None,
    client: str,
    broker_wait: float,
    timestamps: str,
    faults: tuple[Fault, ...],
    seed: int,
    fault_log: Path | None,
    controlled: bool,
    control_port: int,
) -> None:
    """Publish RECORDING to Kafka, one message per station per snapshot, at --speed.

    Ctrl-C or SIGTERM stops at a snapshot boundary, flushes, prints the statistics and
    exits 130 or 143. On a terminal, keys drive the replay: space pauses and resumes, → sends one
    snapshot, + and - double and halve the speed, q stops as Ctrl-C does. To publish the live API
    instead, use `velib-replay live`.
    """
    rebase_to = datetime.now(timezone.utc) if rebase_time else None
    plan = ReplayPlan(speed, wanted, loop, start_at, end_at, limit, rebase_to, skip_repeated)
    try:
        play_options = PlayOptions(
            plan,
            faults,
            seed=seed,
            fault_log=fault_log,
            skip_invalid=skip_invalid,
            timestamps=timestamps,
            client=client,
            partitions=partitions,
            delivery_timeout_s=broker_wait,
        )
    except OptionError as error:  # each option was parsed alone; the whole set (--inject) is checked here
        raise click.BadParameter(str(error), param_hint=f"'--{error.option}'") from None
    source = Recording(recording)
    snapshots = select_snapshots(source, plan)
    play_options.refuse_unhonourable(snapshots)  # --dry-run included
    with StopRequest(second_kills=True).handled() as stop:  # a second signal kills at once
        counts = _check(snapshots, plan, skip_invalid, quiet, stop) if check else None
        if stop:
            finish(stop, f"interrupted by {stop.reason} while checking the recording; nothing was sent")
        slots = plan_slots(source, plan, snapshots)
        total = slots.size
        if dry_run:
            _print_schedule(slots, plan, counts or {}, total)
            if timestamps == "feed":
                _check_feed_times(kafka, status_topic, stamp_range(slots))
            return
        with (
            _controlled(slots, plan, controlled, control_port, quiet) as (control, legend),
            _progress(total, quiet, "Replaying", legend) as on_sent,
        ):
            stats = replay_to_topic(
                source, kafka, status_topic, play_options, slots=slots, on_sent=on_sent, stop=stop, control=control
            )
    _report(stats, status_topic, quiet, stats_json)
    _verdict(stats, plan, stop)


@contextlib.contextmanager
def _controlled(
    timeline: Timeline, plan: ReplayPlan, endpoint: bool, port: int, quiet: bool
) -> Iterator[tuple[Control | None, str | None]]:
    """The replay's control, with the --control endpoint and the terminal's keys, when either is there;
    and the keys' legend for under the progress bar."""
    with_keys = not quiet and keys.usable()
    if not (endpoint or with_keys):
        yield None, None
        return
    control = Control(timeline, plan.speed)
    with contextlib.ExitStack() as stack:
        if endpoint:
            server = ControlServer(control, port).start()
            stack.callback(server.close)
            click.echo(f"Control endpoint: {server.url} (GET status; POST pause, resume, step, seek, speed)", err=True)
        if with_keys:
            stack.enter_context(keys.reading(control))
        yield control, keys.LEGEND if with_keys else None


def _check(
    snapshots: Sequence[Snapshot], plan: ReplayPlan, skip_invalid: bool, quiet: bool, stop: StopRequest
) -> dict[str, int]:
    """Every body the plan uses, read once before anything is sent; selected stations per snapshot."""
    used = used_snapshots(snapshots, plan)
    with _progress(len(used), quiet, "Checking") as on_checked:
        report = check_snapshots(used, plan.wanted, skip_invalid=skip_invalid, on_checked=on_checked, stop=stop)
    if report.invalid and not quiet:
        click.echo(f"Skipping {len(report.invalid)} snapshot(s) with an invalid body: {report.invalid[0]}", err=True)
    return report.stations


DRY_RUN_BROKER_WAIT_MS = 2000


def _check_feed_times(kafka: KafkaTarget, topic: str, stamps: tuple[int, int]) -> None:
    """The dry run's copy of the check ``play`` makes before sending, when a broker answers: a dry run needs none."""
    try:
        refusal = feed_time_refusal(kafka, topic, *stamps, timeout_ms=DRY_RUN_BROKER_WAIT_MS)
    except UserError:  # nothing listens there (said at once), or no Kafka broker that answers in time
        unchecked = f"Feed times not checked against {topic}'s retention: no broker answers at {kafka.servers}"
        click.echo(unchecked, err=True)
        return
    if refusal:
        raise UserError(refusal)


DRY_RUN_ROWS = 1000  # a schedule longer than this is previewed: --loop can ask for more slots than memory holds


def _print_schedule(slots: Iterable[Slot], plan: ReplayPlan, counts: dict[str, int], total: int | None) -> None:
    """The schedule, with the stations each snapshot sends (``counts`` from the check, else read now)."""
    shown = list(itertools.islice(slots, DRY_RUN_ROWS))
    stations = [_stations_sent(slot.snapshot, plan.wanted, counts) for slot in shown]
    if not any(isinstance(n, int) and n > 0 for n in stations):
        all_invalid = all(n == "invalid" for n in stations)
        raise UserError("nothing to play: " + nothing_to_send(plan.wanted, all_invalid=all_invalid))
    rows = [
        [
            i,
            f"{slot.due / plan.speed:.3f}" if plan.speed else "0",
            slot.snapshot.poll.fetched_text,
            _stamp(slot.snapshot_time),
            slot.loop_pass,
            count,
        ]
        for i, (slot, count) in enumerate(zip(shown, stations, strict=True))
    ]
    click.echo(table(rows, ["#", "send_at_s", "recorded_at", "snapshot_time", "pass", "stations"]))
    if total is None:
        click.echo("... (looping until stopped)")
    elif total > len(shown):
        click.echo(f"... and {total - len(shown):,} more slots ({total:,} in all)")


def _stations_sent(snapshot: Snapshot, wanted: frozenset[str] | None, counts: dict[str, int]) -> int | str:
    """How many stations of ``snapshot`` are sent; ``invalid`` when its body cannot be read (memoised in counts)."""
    key = snapshot.poll.meta_file
    if key not in counts:
        try:
            counts[key] = len(selected(snapshot.stations, wanted))
            iso_utc(snapshot.snapshot_time)
        except UNUSABLE:
            return "invalid"
    return counts[key]


def _stamp(snapshot_time: int) -> str:
    try:
        return iso_utc(snapshot_time)
    except (ValueError, OverflowError):
        return f"{snapshot_time} (out of range)"


@contextlib.contextmanager
def _progress(
    total: int | None, quiet: bool, label: str, legend: str | None = None
) -> Iterator[Callable[[object], None] | None]:
    """A progress bar with ETA on a terminal, ``legend`` on the line under it; nothing when quiet or piped."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    if legend:
        click.echo(f"\n{legend}\x1b[1A\r", nl=False, err=True)  # the legend's line, then back up for the bar
    with click.progressbar(length=total, label=label, show_eta=True, show_pos=True, file=sys.stderr) as bar:
        yield lambda _slot: bar.update(1)
    if legend:
        click.echo(err=True)  # below the legend


def _report(stats: PlayStats, topic: str, quiet: bool, stats_json: Path | None) -> None:
    summary = stats.as_dict()
    if stats_json:
        stats_json.write_text(json.dumps(summary, indent=2) + "\n")
    if not quiet:
        rows = [[name, _shown(name, value)] for name, value in summary.items()]
        click.echo(f"Sent to {topic}:\n" + table(rows, ["statistic", "value"]))


def _shown(name: str, value: object) -> object:
    """A statistic as one table cell: the control actions counted by kind (each one is in --stats-json)."""
    if name == "control_actions":
        return ", ".join(f"{action} {n}" for action, n in Counter(a["action"] for a in value).items()) or "-"
    return json.dumps(value) if isinstance(value, dict) else value


def _verdict(stats: PlayStats, plan: ReplayPlan, stop: StopRequest) -> None:
    """The exit status after the statistics: 130/143 when interrupted, 1 when anything went wrong, else 0."""
    problem = None
    if stats.undelivered:
        problem = f"{stats.undelivered} of {stats.messages} messages were not delivered: {stats.first_error}"
    elif stats.aborted:
        problem = f"{stats.aborted}; stopped after {stats.snapshots} snapshots"
    elif stats.messages == 0 and not stats.interrupted:
        problem = "nothing was sent: " + nothing_to_send(plan.wanted, all_invalid=stats.skipped_invalid > 0)
    if stats.interrupted:
        click.echo(f"Interrupted by {stats.interrupted} after {stats.snapshots} snapshots", err=True)
    finish(stop, problem)
