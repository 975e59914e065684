"""Commands of the pipeline itself: kafka, topics, play, process, verify, demo."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from velib_replay import broker, config, demo, indicators, jvm, pacing, report, topics, verifier
from velib_replay.cli import options
from velib_replay.errors import UserError
from velib_replay.feed import iso_utc
from velib_replay.indicators import read_golden, write_golden
from velib_replay.job import JobConfig, run, spark_session
from velib_replay.messages import parse_station_filter, selected
from velib_replay.player import PlayStats, play
from velib_replay.publisher import CLIENTS, Publisher, open_publisher
from velib_replay.recording import Recording


# ---------------------------------------------------------------- setup
@click.command("setup")
def setup_command() -> None:
    """Check Java and Maven, and resolve the Kafka and Spark-Kafka jars once (later runs need no network)."""
    java = jvm.require_java()
    click.echo(f"Java {jvm.java_major_version(java)} at {java}")
    for jar_set in jvm.JAR_SETS:
        folder = jvm.resolve(jar_set)
        jars = list(folder.glob("*.jar"))
        size = sum(jar.stat().st_size for jar in jars) / 1e6
        click.echo(f"{jar_set}: {len(jars)} jars, {size:.1f} MB in {folder}")


# ---------------------------------------------------------------- kafka
@click.group("kafka")
def kafka_group() -> None:
    """Run the embedded single-node Kafka broker (KRaft, no ZooKeeper)."""


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=broker.default_data_dir,
    envvar=options.env("KAFKA_DATA_DIR"),
    show_envvar=True,
    show_default="<cache>/kafka",
    help="Folder of the broker's storage, configuration, pid file and log.",
)


kafka_port_option = click.option(
    "--port",
    type=int,
    default=config.KAFKA_PORT,
    envvar=options.env("KAFKA_PORT"),
    show_envvar=True,
    help="Port of the embedded broker.",
)


@kafka_group.command("start")
@kafka_port_option
@click.option("--controller-port", type=int, default=None, help="KRaft controller port.  [default: PORT+1]")
@data_dir_option
@click.option("--timeout", type=float, default=90.0, help="Seconds to wait for the broker to accept connections.")
def kafka_start(port: int, controller_port: int | None, data_dir: Path, timeout: float) -> None:
    """Start the broker in the background; returns once it accepts connections."""
    started, running = broker.start(broker.Broker(data_dir, port, controller_port), timeout=timeout)
    state = "started" if started else "already running"
    click.echo(f"Kafka {state} on {running.bootstrap_servers} (pid {running.running_pid()}, log: {running.log_file})")


@kafka_group.command("stop")
@data_dir_option
def kafka_stop(data_dir: Path) -> None:
    """Stop the broker started from DATA_DIR."""
    stopped = broker.stop(broker.Broker(data_dir))
    click.echo("Kafka stopped" if stopped else "Kafka was not running")


@kafka_group.command("status")
@data_dir_option
def kafka_status(data_dir: Path) -> None:
    """Say whether the broker runs (exit 0) or not (exit 1)."""
    embedded = broker.Broker(data_dir)
    pid = embedded.running_pid()
    if pid is None:
        click.echo(f"Kafka is not running (data dir {data_dir})")
        sys.exit(1)
    port = embedded.running_port()
    reachable = "accepting connections" if port and broker.accepts_connections(port) else "NOT accepting connections"
    click.echo(f"Kafka running on localhost:{port}, pid {pid}, {reachable} (log: {embedded.log_file})")


# ---------------------------------------------------------------- topics
quarantine_topic_option = click.option(
    "--quarantine-topic",
    default=config.QUARANTINE_TOPIC,
    envvar=options.env("QUARANTINE_TOPIC"),
    show_envvar=True,
    help="Topic where unusable station messages are set aside, with the reason.",
)


@click.command("topics")
@options.bootstrap_servers
@options.status_topic
@options.indicators_topic
@quarantine_topic_option
@click.option("--partitions", type=click.IntRange(min=1), default=1, help="Partitions of new topics.")
@click.option("--replication", type=click.IntRange(min=1), default=1, help="Replication factor of new topics.")
@click.option("--reset", is_flag=True, help="Delete the three topics first (their data is lost).")
def topics_command(
    bootstrap_servers: str,
    status_topic: str,
    indicators_topic: str,
    quarantine_topic: str,
    partitions: int,
    replication: int,
    reset: bool,
) -> None:
    """Create the pipeline's topics if absent."""
    names = [status_topic, indicators_topic, quarantine_topic]
    if reset:
        deleted = topics.delete_topics(bootstrap_servers, names)
        click.echo(f"Deleted: {', '.join(deleted) or 'none'}")
        time.sleep(1.0 if deleted else 0)
    specs = topics.pipeline_topics(*names, partitions=partitions, replication=replication)
    created = topics.ensure_topics(bootstrap_servers, specs)
    click.echo(f"Created: {', '.join(created) or 'none'}; present: {', '.join(names)}")


# ---------------------------------------------------------------- play
def _parse_with(parser):
    def callback(_ctx, param, value):
        if value is None:
            return None
        try:
            return parser(value)
        except ValueError as error:
            raise click.BadParameter(str(error), param=param) from None

    return callback


@click.command("play")
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--speed", default="1x", callback=_parse_with(pacing.parse_speed), help="1x, 10x, 0.5x, 60 ... or max.")
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
@click.option("--start", "start_at", default=None, help="Skip what comes before this offset (90m) or ISO time.")
@click.option("--end", "end_at", default=None, help="Stop after this offset (90m) or ISO time.")
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
    default="120s",
    callback=_parse_with(pacing.parse_duration),
    help="How long to wait for an unreachable broker before counting messages as failed.",
)
def play_command(
    recording: Path,
    speed: float | None,
    stations: str,
    bootstrap_servers: str,
    status_topic: str,
    partitions: int,
    loop: int,
    start_at: str | None,
    end_at: str | None,
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
    snapshots = list(Recording(recording).snapshots())
    if not snapshots:
        raise UserError(f"{recording}: no valid station_status snapshot to play")
    wanted = _station_filter(stations)
    first = snapshots[0].fetched_at
    shift = pacing.rebase_shift(snapshots[0].snapshot_time, datetime.now(timezone.utc)) if rebase_time else 0
    slots = pacing.schedule(
        snapshots,
        passes=loop,
        start=_offset(start_at, first, "--start"),
        end=_offset(end_at, first, "--end"),
        limit=limit,
        time_shift=shift,
    )
    if dry_run:
        _print_schedule(slots, speed, forever=loop == 0 and limit is None)
        return
    topics.ensure_topics(bootstrap_servers, [topics.status_topic(status_topic, partitions)])
    total = None if loop == 0 and limit is None else len(slots := list(slots))
    with open_publisher(bootstrap_servers, status_topic, client=client, delivery_timeout_s=broker_wait) as publisher:
        stats = _play_with_progress(slots, publisher, speed, wanted, total, quiet)
    _report_play(stats, status_topic, quiet, stats_json)


def _station_filter(spec: str) -> frozenset[str] | None:
    try:
        return parse_station_filter(spec)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--stations'") from None


def _offset(text: str | None, first: datetime, option: str) -> float | None:
    if text is None:
        return None
    try:
        return pacing.parse_offset(text, first)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=f"'{option}'") from None


def _print_schedule(slots, speed: float | None, forever: bool) -> None:
    shown = list(slots if not forever else (slot for _, slot in zip(range(100), slots, strict=False)))
    rows = [
        [
            i,
            f"{slot.due / speed:.3f}" if speed else "0",
            slot.snapshot.poll.fetched_at,
            iso_utc(slot.snapshot_time),
            slot.loop_pass,
            len(slot.snapshot.stations),
        ]
        for i, slot in enumerate(shown)
    ]
    click.echo(report.table(rows, ["#", "send_at_s", "recorded_at", "snapshot_time", "pass", "stations"]))
    if forever:
        click.echo("... (looping until stopped)")


def _play_with_progress(slots, publisher: Publisher, speed, wanted, total: int | None, quiet: bool) -> PlayStats:
    if quiet or not sys.stderr.isatty():
        return play(slots, publisher, speed=speed, wanted=wanted)
    with click.progressbar(length=total, label="Replaying", show_eta=True, show_pos=True, file=sys.stderr) as bar:
        return play(slots, publisher, speed=speed, wanted=wanted, on_sent=lambda _slot: bar.update(1))


def _report_play(stats: PlayStats, topic: str, quiet: bool, stats_json: Path | None) -> None:
    summary = stats.as_dict()
    if stats_json:
        stats_json.write_text(json.dumps(summary, indent=2) + "\n")
    if not quiet:
        rows = [[name, json.dumps(value) if isinstance(value, dict) else value] for name, value in summary.items()]
        click.echo(f"Sent to {topic}:\n" + report.table(rows, ["statistic", "value"]))
    if stats.undelivered:
        raise UserError(f"{stats.undelivered} of {stats.messages} messages were not delivered: {stats.first_error}")


# ---------------------------------------------------------------- process
stations_table_option = click.option(
    "--stations-table",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=config.stations_table,
    envvar=options.env("STATIONS_TABLE"),
    show_envvar=True,
    show_default="data/stations_information.csv",
    help="CSV with stationCode and postcode columns.",
)


@click.command("process")
@click.option("--once", is_flag=True, help="Process all that is available, then exit (CI, batch runs).")
@click.option(
    "--checkpoint",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("checkpoints/velib-replay"),
    envvar=options.env("CHECKPOINT"),
    show_envvar=True,
    help="Checkpoint folder: a restarted job resumes from it.",
)
@click.option(
    "--master",
    default="local[*]",
    envvar=options.env("SPARK_MASTER"),
    show_envvar=True,
    help="Spark master URL (local[*], spark://host:7077, yarn ...).",
)
@options.bootstrap_servers
@options.status_topic
@options.indicators_topic
@quarantine_topic_option
@stations_table_option
@click.option(
    "--watermark",
    default="2 hours",
    help="How late (in feed time) a message may arrive and still count; older state is dropped.",
)
@click.option("--trigger-interval", default="5 seconds", help="Micro-batch interval when not --once.")
@click.option(
    "--max-offsets-per-trigger", type=click.IntRange(min=1), default=None, help="Cap messages per micro-batch."
)
@click.option(
    "--show", "show_rows", type=click.IntRange(min=0), default=20, help="Indicator rows printed per micro-batch."
)
def process_command(
    once: bool,
    checkpoint: Path,
    master: str,
    bootstrap_servers: str,
    status_topic: str,
    indicators_topic: str,
    quarantine_topic: str,
    stations_table: Path,
    watermark: str,
    trigger_interval: str,
    max_offsets_per_trigger: int | None,
    show_rows: int,
) -> None:
    """Run the Spark Structured Streaming job: station messages in, indicators per postcode out."""
    cfg = JobConfig(
        bootstrap_servers=bootstrap_servers,
        status_topic=status_topic,
        indicators_topic=indicators_topic,
        quarantine_topic=quarantine_topic,
        checkpoint=checkpoint,
        stations_table=stations_table,
        watermark=watermark,
        trigger_interval=trigger_interval,
        max_offsets_per_trigger=max_offsets_per_trigger,
        show_rows=show_rows,
    )
    topics.ensure_topics(bootstrap_servers, topics.pipeline_topics(status_topic, indicators_topic, quarantine_topic))
    started = time.monotonic()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    summary = run(spark_session(master), cfg, once=once, stop=stop)
    click.echo(
        f"Processed {summary.input_rows} messages in {summary.batches} batch(es), {time.monotonic() - started:.1f} s: "
        f"{summary.indicator_rows} indicator rows written to {indicators_topic}, "
        f"{summary.quarantined} message(s) set aside in {quarantine_topic}, {summary.dropped_late} dropped as too late."
    )


# ---------------------------------------------------------------- verify
@click.command("verify")
@click.option("--golden", type=click.Path(dir_okay=False, path_type=Path), help="Golden JSON-lines file.")
@click.option(
    "--recording",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Instead of a golden file: what the independent computation gives over this recording "
    "(e.g. the one `live --record` kept), with the same --stations as the run.",
)
@options.stations
@stations_table_option
@click.option("--update", is_flag=True, help="Rewrite the golden file from the topic instead of comparing.")
@options.bootstrap_servers
@options.indicators_topic
def verify_command(
    golden: Path | None,
    recording: Path | None,
    stations: str,
    stations_table: Path,
    update: bool,
    bootstrap_servers: str,
    indicators_topic: str,
) -> None:
    """Compare the indicators topic (latest value per key) with a golden file or a recording; exit 1 if they differ."""
    if (golden is None) == (recording is None):
        raise click.UsageError("give exactly one of --golden FILE or --recording DIR")
    if update and golden is None:
        raise click.UsageError("--update rewrites a --golden file")
    contents = verifier.read_latest(bootstrap_servers, indicators_topic)
    if update:
        write_golden(golden, contents.latest)
        click.echo(f"Wrote {len(contents.latest)} indicator rows to {golden}")
        return
    expected, source = _expected_indicators(golden, recording, _station_filter(stations), stations_table)
    difference = verifier.compare(expected, contents.latest)
    if not difference.equal:
        click.echo(verifier.describe(difference))
        raise UserError(f"{indicators_topic} differs from {source}")
    click.echo(
        f"OK: {len(contents.latest)} indicator rows in {indicators_topic} equal {source} "
        f"({contents.records} records read)"
    )


def _expected_indicators(
    golden: Path | None, recording: Path | None, wanted: frozenset[str] | None, stations_table: Path
) -> tuple[dict, str]:
    if golden is not None:
        if not golden.exists():
            raise UserError(f"golden file {golden} does not exist (create it with --update)")
        return read_golden(golden), str(golden)
    snapshots = ((s.snapshot_time, selected(s.stations, wanted)) for s in Recording(recording).snapshots())
    return indicators.compute(snapshots, indicators.load_postcodes(stations_table)), f"the computation over {recording}"


# ---------------------------------------------------------------- demo
@click.command("demo")
@click.option(
    "--recording",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=config.sample_recording,
    show_default="recordings/sample",
)
@kafka_port_option
@data_dir_option
def demo_command(recording: Path, port: int, data_dir: Path) -> None:
    """Embedded Kafka, topics, replay of the sample at max speed, the job, a table, and the golden check."""
    with demo.fresh_checkpoint() as checkpoint:
        result = demo.run_demo(recording, broker.Broker(data_dir, port), checkpoint, say=click.echo)
    click.echo(
        f"Job: {result.job.input_rows} messages → {result.job.indicator_rows} indicator rows "
        f"({result.job.batches} batch(es))"
    )
    click.echo("\nNetwork totals per snapshot:\n" + report.totals_by_snapshot(result.contents.latest))
    click.echo("\nLatest snapshot by postcode:\n" + report.latest_by_postcode(result.contents.latest))
    if not result.difference.equal:
        click.echo(verifier.describe(result.difference))
        raise UserError(f"the indicators differ from {recording / demo.GOLDEN_NAME}")
    click.echo(
        f"\nVerification passed: {len(result.contents.latest)} indicator rows equal {recording / demo.GOLDEN_NAME}"
    )


COMMANDS = [setup_command, kafka_group, topics_command, play_command, process_command, verify_command, demo_command]
