"""``velib-replay process``: the Spark Structured Streaming job, station messages in, indicators out."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import click

from velib_replay import config
from velib_replay.cli import options
from velib_replay.cli.stopping import finish
from velib_replay.kafka import client_logs
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.observe import logs, metrics
from velib_replay.signals import StopRequest


@click.command(
    "process", epilog=options.examples("velib-replay process --once", "velib-replay process --once --show 0")
)
@click.option("--once", is_flag=True, help="Process all that is available, then exit (CI, batch runs).")
@click.option(
    "--checkpoint",
    type=click.Path(file_okay=False, path_type=Path),
    default=config.checkpoint_dir,
    envvar=options.env("CHECKPOINT"),
    show_envvar=True,
    show_default="checkpoints/velib-replay",
    help="Checkpoint folder: a restarted job resumes from it.",
)
@click.option(
    "--master",
    type=options.SPARK_MASTER,
    default=config.SPARK_MASTER,
    envvar=options.env("SPARK_MASTER"),
    show_envvar=True,
    help="Spark master URL (local[*], spark://host:7077, yarn ...).",
)
@options.kafka_target
@options.status_topic
@options.indicators_topic
@options.quarantine_topic
@options.stations_table
@click.option(
    "--watermark",
    type=options.SPARK_INTERVAL,
    default=config.WATERMARK,
    help="How late (in feed time) a message may arrive and still count; older state is dropped "
    "(Spark's syntax: '2 hours', '90 minutes').",
)
@click.option(
    "--max-future",
    type=options.DURATION,
    default="1h",
    show_default=True,
    help="A snapshot_time later than the wall clock plus this (1h, 90m) is set aside as from the future.",
)
@click.option(
    "--trigger-interval",
    type=options.SPARK_TRIGGER_INTERVAL,
    default=config.TRIGGER_INTERVAL,
    envvar=options.env("TRIGGER_INTERVAL"),
    show_envvar=True,
    show_default=True,
    help="Micro-batch interval when not --once (Spark's syntax: '5 seconds', '500 milliseconds').",
)
@click.option(
    "--max-offsets-per-trigger", type=click.IntRange(min=1), default=None, help="Cap messages per micro-batch."
)
@click.option(
    "--show",
    "show_rows",
    type=click.IntRange(min=0),
    default=20,
    envvar=options.env("SHOW"),
    show_envvar=True,
    show_default=True,
    help="Indicator rows printed per micro-batch. 0 prints none and writes through Spark's own Kafka sink, "
    "a few tenths of a second quicker a batch: the setting for a live service.",
)
@click.option(
    "--progress-every",
    type=options.SECONDS,
    default=config.BATCH_PROGRESS_EVERY_S,
    envvar=options.env("PROGRESS_EVERY"),
    show_envvar=True,
    help="A batch still running after this many seconds says so, and how many of its tasks are done, "
    "again every this many seconds (a first batch over a long backlog takes minutes).",
)
@options.metrics_options
@options.max_lag
@click.option(
    "--summary-json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the run's summary (batches, input_rows, indicator_rows, quarantined, dropped_late) as JSON here, "
    "for `verify --summary-json`.",
)
def command(
    once: bool,
    checkpoint: Path,
    master: str,
    kafka: KafkaTarget,
    status_topic: str,
    indicators_topic: str,
    quarantine_topic: str,
    stations_table: Path,
    watermark: str,
    max_future: float,
    trigger_interval: str,
    max_offsets_per_trigger: int | None,
    show_rows: int,
    progress_every: float,
    metrics_port: int | None,
    metrics_host: str,
    log_format: str,
    max_lag: int,
    summary_json: Path | None,
) -> None:
    """Run the Spark Structured Streaming job: station messages in, indicators per postcode out."""
    from velib_replay.job import progress
    from velib_replay.job.config import JobConfig
    from velib_replay.job.runner import run
    from velib_replay.job.session import spark_session
    from velib_replay.job.stations_table import load_postcodes
    from velib_replay.observe.job_metrics import JobObserver, kafka_end_offsets

    load_postcodes(stations_table)  # a table Spark would read as "every station unknown" is refused before it starts

    cfg = JobConfig(
        kafka=kafka,
        status_topic=status_topic,
        indicators_topic=indicators_topic,
        quarantine_topic=quarantine_topic,
        checkpoint=checkpoint,
        stations_table=stations_table,
        watermark=watermark,
        max_future=max_future,
        trigger_interval=trigger_interval,
        max_offsets_per_trigger=max_offsets_per_trigger,
        show_rows=show_rows,
        progress_every_s=progress_every,
    )
    if log_format == "json":  # every stderr line JSON, the JVM's and the client libraries' included
        logs.relay_stderr_as_json()
        logging.basicConfig(level=logging.INFO, handlers=[logs.handler(log_format)])
        client_logs.client_libraries(log_format)
    else:  # the listener's lines (the query's start, each batch) alone: the libraries stay quiet
        logging.getLogger(progress.__name__).addHandler(logs.handler(log_format))
        logging.getLogger(progress.__name__).setLevel(logging.INFO)
    observer = JobObserver(status_topic, kafka_end_offsets(kafka))
    started = time.monotonic()
    stop = StopRequest()
    with stop.handled(), metrics.serving(observer.serving_health(max_lag), metrics_port, metrics_host):
        session = spark_session(master)
        with stop.handled():  # pyspark's SparkContext put its own SIGINT handler in place of ours
            summary = run(session, cfg, once=once, stop=stop, listener=observer.listener)
    click.echo(
        f"Processed {summary.input_rows} messages in {summary.batches} batch(es), {time.monotonic() - started:.1f} s: "
        f"{summary.indicator_rows} indicator rows written to {indicators_topic}, "
        f"{summary.quarantined} message(s) set aside in {quarantine_topic}, {summary.dropped_late} dropped as too late."
    )
    if summary_json is not None:
        summary_json.write_text(json.dumps(dataclasses.asdict(summary), indent=2) + "\n")
    finish(stop)
