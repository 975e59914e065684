"""``velib-replay live``: poll the API and publish each snapshot to Kafka exactly as ``play`` would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from velib_replay.capture.client import redact_url
from velib_replay.capture.live import DEFAULT_MAX_BACKLOG, DELIVERY_TIMEOUT, LivePlan, kafka_connector, live
from velib_replay.capture.recorder import resolve_sources
from velib_replay.cli import options
from velib_replay.cli.capture_options import (
    client_options,
    client_settings,
    compression_option,
    feed_options,
    limits,
    log_to_stderr,
    schedule_options,
)
from velib_replay.cli.stopping import finish
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.observe import logs, metrics
from velib_replay.observe.capture_metrics import CaptureObserver
from velib_replay.signals import StopRequest


@click.command(
    "live",
    epilog=options.examples(
        "velib-replay live --count 3 --interval 1",
        "velib-replay live --count 3 --interval 1 --skip-repeated --record recordings/live",
    ),
)
@feed_options
@schedule_options
@options.stations
@options.skip_repeated
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also record every poll (and station_information) into this folder.",
)
@options.kafka_target
@options.status_topic
@click.option(
    "--max-backlog",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BACKLOG,
    help="Snapshots kept in memory while Kafka is unreachable (about 1 MB each for the whole network); beyond, "
    "the oldest is dropped, and the summary and exit status 1 say which. Polling never waits on Kafka.",
)
@click.option(
    "--delivery-timeout",
    type=click.FloatRange(min=1),
    default=DELIVERY_TIMEOUT,
    help="Seconds a snapshot may wait on Kafka before the outage is reported and the snapshot retried.",
)
@options.timestamps
@compression_option
@client_options
@options.metrics_options
@options.stale_after
def command(
    status_url: str | None,
    info_url: str | None,
    gbfs_url: str | None,
    lang: str | None,
    info_every: float,
    interval: float,
    count: int | None,
    duration: float | None,
    wanted: frozenset[str] | None,
    skip_repeated: bool,
    record_dir: Path | None,
    kafka: KafkaTarget,
    status_topic: str,
    max_backlog: int,
    delivery_timeout: float,
    timestamps: str,
    compression: str,
    metrics_port: int | None,
    metrics_host: str,
    log_format: str,
    stale_after: float,
    keyframe_every: int,
    **client: Any,
) -> None:
    """Poll the API and publish each snapshot to Kafka, exactly as `play` would.

    API faults are retried and reported as in `record`; while Kafka is unreachable,
    snapshots wait (up to --max-backlog) and are delivered when it is back. Stops
    after --count, --duration, or on Ctrl-C / SIGTERM like `record` (summary; exit
    status 130 or 143), and exit status 1 if any snapshot was not delivered.
    """
    log_to_stderr(log_format)
    settings = client_settings(**client)
    sources = resolve_sources(status_url, info_url, gbfs_url, info_every * 60, settings, lang)
    plan = LivePlan(
        sources,
        interval,
        limits(count, duration),
        wanted,
        record_dir,
        compression,
        max_backlog,
        keyframe_every,
        skip_repeated,
    )
    connect = kafka_connector(kafka, status_topic, delivery_timeout, timestamps)
    banner = f"Publishing {redact_url(sources.status_url)} to {status_topic} every {interval:g} s (Ctrl-C to stop)"
    logs.announce(banner, log_format)
    observer = CaptureObserver()
    status = logs.status_line(log_format, observer.facts)
    observed = observer.serving_health(stale_after)
    with StopRequest().handled() as stopper, metrics.serving(observed, metrics_port, metrics_host):
        result = live(plan, connect, settings, stopper=stopper, status=status, observer=observer)
    click.echo(result.summary())
    kept = f"; they are in {record_dir} (`velib-replay play` can send them)" if record_dir else ""
    dropped = f" ({result.dropped()})" if result.delivery.dropped else ""
    undelivered = (
        f"{result.undelivered} snapshot(s) were not delivered to Kafka{dropped}{kept}" if result.undelivered else None
    )
    finish(stopper, result.failure or undelivered)
