"""``velib-replay robustness JOB RECORDING``: a user's job under each fault real streams bring, one table row
per fault (the engine is ``velib_replay.robustness``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from velib_replay.cli import options
from velib_replay.cli.tables import table
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.robustness.catalogue import CATALOGUE
from velib_replay.robustness.matrix import Setting, own_stack, run_matrix
from velib_replay.robustness.report import HEADER, notes, rows, write_json, write_junit
from velib_replay.robustness.user_job import load_job

FAULTS_HELP = "; ".join(f"{fault.name}: {fault.what}" for fault in CATALOGUE)


@click.command(
    "robustness",
    epilog=options.examples(
        "velib-replay robustness examples/original-pipeline/job.py:start recordings/sample --key-fields postcode"
    ),
)
@click.argument("job")
@click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--key-fields",
    type=options.KEY_FIELDS,
    help="Value fields that key the job's output rows, comma-separated (e.g. postcode), for output written "
    "without Kafka keys; a row without a key field is keyed by null. Default: the Kafka key.",
)
@click.option(
    "--faults",
    type=options.ROBUSTNESS_FAULTS,
    default=None,
    envvar=options.env("ROBUSTNESS_FAULTS"),
    show_envvar=True,
    help=f"The faults to run, comma-separated (default all). {FAULTS_HELP}.",
)
@options.seed(0, "SEED", "Seed of the faults' random choices: every run draws with it, the same faults each time.")
@options.stations
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the table as JSON.")
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JUnit XML report: one test case per fault, failed when the job failed, wrote nothing, "
    "or an invariant fault changed its output.",
)
def command(
    job: str,
    recording: Path,
    key_fields: tuple[str, ...] | None,
    faults: tuple[str, ...] | None,
    seed: int,
    wanted: frozenset[str] | None,
    json_path: Path | None,
    junit_xml: Path | None,
) -> None:
    """Your job under each fault real streams bring: a table, one row per fault.

    JOB is path/to/file.py:function (or package.module:function) with the signature function(spark, bootstrap,
    source, output, checkpoint). It runs on a faithful replay of RECORDING (the baseline), then once per fault
    on fresh topics and checkpoints. Faults the output must not notice are robust or sensitive; for lossy
    ones the table says what changed. A job that fails or writes nothing under a fault is flagged in its
    row, and the next fault runs. An embedded broker and a SparkSession serve the whole matrix.
    """
    function = load_job(job)
    source = Recording(recording)
    with tempfile.TemporaryDirectory(prefix="velib-robustness-") as folder, own_stack(Path(folder)) as (spark, broker):
        setting = Setting(spark, KafkaTarget(broker.bootstrap_servers), Path(folder), broker, key_fields, seed, wanted)
        click.echo(f"{job} on {recording}: baseline, then {len(faults or CATALOGUE)} fault(s)", err=True)
        matrix = run_matrix(
            function, source, setting, faults, on_row=lambda row: click.echo(f"  {row.fault}: {row.verdict}", err=True)
        )
    click.echo("\n".join([table(rows(matrix), HEADER), *notes(matrix)]))
    if json_path:
        write_json(matrix, json_path)
    if junit_xml:
        write_junit(matrix, junit_xml, job)
