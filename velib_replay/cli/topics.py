"""``velib-replay topics``: create the pipeline's three topics, so no step needs a hand-typed kafka-topics."""

from __future__ import annotations

import time

import click

from velib_replay.cli import options
from velib_replay.kafka import topics
from velib_replay.kafka.client_config import KafkaTarget


@click.command("topics", epilog=options.examples("velib-replay topics", "velib-replay topics --partitions 3"))
@options.kafka_target
@options.status_topic
@options.indicators_topic
@options.quarantine_topic
@click.option("--partitions", type=click.IntRange(min=1), default=1, help="Partitions of new topics.")
@click.option("--replication", type=click.IntRange(min=1), default=1, help="Replication factor of new topics.")
@click.option("--reset", is_flag=True, help="Delete the three topics first (their data is lost).")
@click.option(
    "--compact",
    is_flag=True,
    envvar=options.env("COMPACT"),
    show_envvar=True,
    help="Create the indicators topic compacted: Kafka keeps only the latest row per key and refuses rows without "
    "a key. Default: plain, every row kept (readers and verify take the latest per key), unkeyed rows accepted.",
)
def command(
    kafka: KafkaTarget,
    status_topic: str,
    indicators_topic: str,
    quarantine_topic: str,
    partitions: int,
    replication: int,
    reset: bool,
    compact: bool,
) -> None:
    """Create the pipeline's topics if absent."""
    names = [status_topic, indicators_topic, quarantine_topic]
    if reset:
        deleted = topics.delete_topics(kafka, names)
        click.echo(f"Deleted: {', '.join(deleted) or 'none'}")
        time.sleep(1.0 if deleted else 0)
    specs = topics.pipeline_topics(*names, partitions=partitions, replication=replication, compact=compact)
    created = topics.ensure_topics(kafka, specs)
    there = [name for name in names if name not in created]
    click.echo(f"Created: {', '.join(created) or 'none'}; already there: {', '.join(there) or 'none'}")
