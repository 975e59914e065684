"""``velib-replay setup``: check Java and resolve the jars once with pyspark's Ivy, so later runs need no network."""

from __future__ import annotations

import click

from velib_replay.kafka import jvm


@click.command("setup")
def command() -> None:
    """Check Java, and resolve the Kafka and Spark-Kafka jars once (later runs need no network)."""
    java = jvm.require_java()
    click.echo(f"Java {jvm.java_major_version(java)} at {java}")
    for jar_set in jvm.JAR_SETS:
        folder = jvm.resolve(jar_set)
        jars = list(folder.glob("*.jar"))
        size = sum(jar.stat().st_size for jar in jars) / 1e6
        click.echo(f"{jar_set}: {len(jars)} jars, {size:.1f} MB in {folder}")
