"""``velib-replay setup``: check Java and resolve the jars once with pyspark's Ivy, so later runs need no network."""

from __future__ import annotations

import shlex

import click

from velib_replay.cli import options
from velib_replay.kafka import jvm

SPARK_JARS_VARIABLE = "SPARK_KAFKA_JARS"


@click.command("setup", epilog=options.examples("velib-replay setup", "velib-replay setup --print-jars"))
@click.option(
    "--print-jars",
    is_flag=True,
    help=f"Only print, as shell lines to eval, the Spark-Kafka connector jars: {SPARK_JARS_VARIABLE} (the value of "
    "spark-submit --jars) and PYSPARK_SUBMIT_ARGS (read by `python job.py`), for running your own Spark job.",
)
def command(print_jars: bool) -> None:
    """Check Java, and resolve the Kafka and Spark-Kafka jars once (later runs need no network)."""
    java = jvm.require_java()
    if print_jars:
        click.echo("\n".join(jar_lines(jvm.spark_jars())))
        return
    click.echo(f"Java {jvm.java_major_version(java)} at {java}")
    for jar_set in jvm.JAR_SETS:
        folder = jvm.resolve(jar_set)
        jars = list(folder.glob("*.jar"))
        size = sum(jar.stat().st_size for jar in jars) / 1e6
        click.echo(f"{jar_set}: {len(jars)} jars, {size:.1f} MB in {folder}")


def jar_lines(jars: str) -> list[str]:
    """``export`` lines: spark-submit takes ``--jars "$SPARK_KAFKA_JARS"``; pyspark started by ``python job.py``
    reads PYSPARK_SUBMIT_ARGS, whose last word must be ``pyspark-shell``."""
    return [
        f"export {SPARK_JARS_VARIABLE}={shlex.quote(jars)}",
        f"export PYSPARK_SUBMIT_ARGS={shlex.quote(f'--jars {shlex.quote(jars)} pyspark-shell')}",
    ]
