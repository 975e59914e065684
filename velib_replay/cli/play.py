"""``velib-replay play``: publish a recording to Kafka at a chosen speed, and account for every message."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from velib_replay import config
from velib_replay.cli import options
from velib_replay.cli.tables import table
from velib_replay.errors import UserError
from velib_replay.recording import Recording
from velib_replay.recording.feed import iso_utc
from velib_replay.replay.pacing import Slot
from velib_replay.replay.player import PlayStats, ReplayPlan, plan_slots, replay_to_topic
from velib_replay.replay.publisher import CLIENTS


@click.command("play")
@options.recording_argument
@click.option("--speed", type=options.SPEED, default="1x", help="1x, 10x, 0.5x, 60 ... or max.")
@options.stations
@options.bootstrap_servers
@options.status_topic
@click.option("--partitions", type=click.IntRange(min=1), default=1, help="Partitions if the topic is created now.")
@click.option(
    "--loop",
    type=click.IntRange(min=0),
    is_flag=False,
    flag_value=0,
    default=1,
    help="Passes over the recording; --loop alone repeats until stopped. "
    "Each pass shifts snapshot times by the recording's span.",
)
@click.option("--start", "start_at", type=options.OFFSET, help="Skip what comes before this offset (90m) or ISO time.")
@click.option("--end", "end_at", type=options.OFFSET, help="Stop after this offset (90m) or ISO time.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Send at most N snapshots.")
@click.option(
    "--rebase-time", type=click.Choice(["now"]), default=None, help="Shift snapshot times so the first is now."
)
@click.option("--dry-run", is_flag=True, help="Print the schedule; send nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no statistics table.")
@click.option(
    "--stats-json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the statistics as JSON here.",
)
@click.option(
    "--client",
    type=click.Choice(CLIENTS),
    default="kafka-python",
    envvar=options.env("KAFKA_CLIENT"),
    show_envvar=True,
    help="Kafka client library; librdkafka (pip install -e '.[fast]') replays about 3x faster.",
)
@click.option(
    "--broker-wait",
    type=options.DURATION,
    default=f"{config.DELIVERY_WAIT_S:g}s",
    help="How long to wait for an unreachable broker before counting messages as failed.",
)
def command(
    recording: Path,
    speed: float | None,
    wanted: frozenset[str] | None,
    bootstrap_servers: str,
    status_topic: str,
    partitions: int,
    loop: int,
    start_at: timedelta | datetime | None,
    end_at: timedelta | datetime | None,
    limit: int | None,
    rebase_time: str | None,
    dry_run: bool,
    quiet: bool,
    stats_json: Path | None,
    client: str,
    broker_wait: float,
) -> None:
    """Publish RECORDING to Kafka, one message per station per snapshot, at --speed.

    To publish the live API instead, use `velib-replay live`.
    """
    rebase_to = datetime.now(timezone.utc) if rebase_time else None
    plan = ReplayPlan(speed, wanted, loop, start_at, end_at, limit, rebase_to)
    source = Recording(recording)
    slots: Iterable[Slot] = plan_slots(source, plan)
    if dry_run:
        _print_schedule(slots, plan)
        return
    total = None if plan.endless else len(slots := list(slots))
    with _progress(total, quiet) as on_sent:
        stats = replay_to_topic(
            source,
            bootstrap_servers,
            status_topic,
            plan,
            client=client,
            partitions=partitions,
            delivery_timeout_s=broker_wait,
            slots=slots,
            on_sent=on_sent,
        )
    _report(stats, status_topic, quiet, stats_json)


def _print_schedule(slots: Iterable[Slot], plan: ReplayPlan) -> None:
    shown = list(slots if not plan.endless else (slot for _, slot in zip(range(100), slots, strict=False)))
    rows = [
        [
            i,
            f"{slot.due / plan.speed:.3f}" if plan.speed else "0",
            slot.snapshot.poll.fetched_text,
            iso_utc(slot.snapshot_time),
            slot.loop_pass,
            len(slot.snapshot.stations),
        ]
        for i, slot in enumerate(shown)
    ]
    click.echo(table(rows, ["#", "send_at_s", "recorded_at", "snapshot_time", "pass", "stations"]))
    if plan.endless:
        click.echo("... (looping until stopped)")


@contextlib.contextmanager
def _progress(total: int | None, quiet: bool) -> Iterator[Callable[[Slot], None] | None]:
    """A progress bar with ETA on a terminal; nothing when quiet or piped."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label="Replaying", show_eta=True, show_pos=True, file=sys.stderr) as bar:
        yield lambda _slot: bar.update(1)


def _report(stats: PlayStats, topic: str, quiet: bool, stats_json: Path | None) -> None:
    summary = stats.as_dict()
    if stats_json:
        stats_json.write_text(json.dumps(summary, indent=2) + "\n")
    if not quiet:
        rows = [[name, json.dumps(value) if isinstance(value, dict) else value] for name, value in summary.items()]
        click.echo(f"Sent to {topic}:\n" + table(rows, ["statistic", "value"]))
    if stats.undelivered:
        raise UserError(f"{stats.undelivered} of {stats.messages} messages were not delivered: {stats.first_error}")
