"""``velib-replay verify``: the indicators topic (or any topic of JSON objects) against a golden file, or the
indicators against a recording.

It never says OK on doubt: unreadable records are reported, an unreadable latest value fails,
and nothing empty (topic, golden file, expectation) passes or is written without --allow-empty.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from velib_replay import config
from velib_replay.cli import options
from velib_replay.contracts.indicators import Indicator
from velib_replay.errors import UserError
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.topics import end_offsets
from velib_replay.recording import Recording
from velib_replay.replay.ledger import read_ledger
from velib_replay.units import spark_interval_seconds
from velib_replay.verify.diff import compare, describe
from velib_replay.verify.expected import count_mismatches, expected_after, refuse_other_runs, run_quarantined
from velib_replay.verify.golden import KEY_FIELDS, KeyFields, read_golden, write_golden
from velib_replay.verify.reference import over_recording
from velib_replay.verify.topic import TopicContents, read_latest

ALLOW_EMPTY_HINT = "pass --allow-empty if that is expected"


@click.command(
    "verify",
    epilog=options.examples(
        "velib-replay verify --recording recordings/sample",
        "velib-replay verify --golden recordings/sample/indicators.golden.jsonl",
        "velib-replay verify --golden indicators.golden.jsonl --update",
    ),
)
@click.option("--golden", type=click.Path(dir_okay=False, path_type=Path), help="Golden JSON-lines file.")
@click.option(
    "--recording",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Instead of a golden file: what the independent computation gives over this recording "
    "(e.g. the one `live --record` kept), with the same --stations as the run.",
)
@options.run_stations
@options.stations_table
@click.option("--update", is_flag=True, help="Rewrite the golden file from the topic instead of comparing.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Accept an empty result: compare empty with empty as OK, and let --update write an empty golden file.",
)
@options.kafka_target
@options.indicators_topic
@click.option(
    "--fault-log",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --recording: the log of `play --fault-log`; expect what those faults make of the recording, "
    "and check the quarantine topic's count too (docs/faults.md).",
)
@click.option(
    "--summary-json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --fault-log: the job's `process --summary-json`, whose dropped-as-late count is checked too.",
)
@click.option(
    "--watermark",
    type=options.SPARK_INTERVAL,
    default=config.WATERMARK,
    help="With --fault-log: the watermark the job ran with (process --watermark), for the lateness rule.",
)
@click.option(
    "--max-offsets-per-trigger",
    type=click.IntRange(min=1),
    default=None,
    help="With --fault-log: the job's own (process --max-offsets-per-trigger, one-partition topic): "
    "where its micro-batches began, for the lateness rule.",
)
@options.quarantine_topic
@click.option(
    "--topic",
    help="With --golden: verify this topic of JSON objects (any pipeline's output) instead of the indicators topic.",
)
@click.option(
    "--key-fields",
    type=options.KEY_FIELDS,
    help="Value fields that make each row's key, comma-separated (e.g. postcode), for a topic written without "
    "keys. A golden file is read in the form its header line names, keyed as the topic is; --update writes one "
    'row per line. Default: the Kafka key (--update writes {"key": ..., "value": ...} lines), or '
    "snapshot_time,postcode rows for the indicators topic.",
)
def command(
    golden: Path | None,
    recording: Path | None,
    wanted: frozenset[str] | None,
    stations_table: Path,
    update: bool,
    allow_empty: bool,
    kafka: KafkaTarget,
    indicators_topic: str,
    fault_log: Path | None,
    summary_json: Path | None,
    watermark: str,
    max_offsets_per_trigger: int | None,
    quarantine_topic: str,
    topic: str | None,
    key_fields: tuple[str, ...] | None,
) -> None:
    """Compare a topic (latest value per key) with a golden file, or the indicators with a recording; exit 1 if
    they differ."""
    if (golden is None) == (recording is None):
        raise click.UsageError("give exactly one of --golden FILE or --recording DIR")
    if update and golden is None:
        raise click.UsageError("--update rewrites a --golden file")
    if (fault_log is None and summary_json is not None) or (fault_log is not None and recording is None):
        raise click.UsageError("--fault-log goes with --recording, and --summary-json with --fault-log")
    if topic is not None and recording is not None:
        raise click.UsageError("--recording computes indicators: it checks the indicators topic, not --topic")
    golden_fields = key_fields if topic is not None else key_fields or KEY_FIELDS
    topic = topic or indicators_topic
    if update:
        contents = _read_without_doubt(kafka, topic, key_fields)
        _update(golden, contents, topic, allow_empty, golden_fields)
        return
    if fault_log is not None:
        log = read_ledger(fault_log)
        faulted = expected_after(
            Recording(recording),
            log,
            load_postcodes(stations_table),
            watermark_s=spark_interval_seconds(watermark),
            max_offsets=max_offsets_per_trigger,
        )
        refuse_other_runs(log, end_offsets(kafka, str(log.topic)), faulted.messages)
        quarantined = run_quarantined(_read_without_doubt(kafka, quarantine_topic, None), log)
        late = json.loads(summary_json.read_text())["dropped_late"] if summary_json else None
        for problem in count_mismatches(faulted, quarantined, late):
            raise UserError(f"{problem} ({fault_log})")
        click.echo(f"OK: {quarantined} quarantined{'' if late is None else f', {late} dropped as late'}, as expected")
        expected, source = faulted.indicators, f"the computation over {recording} with {fault_log}"
    else:
        expected, source = _expected(golden, recording, wanted, stations_table, key_fields, golden_fields)
    contents = _read_without_doubt(kafka, topic, key_fields)
    _compare(expected, source, contents, topic, allow_empty)


def _compare(
    expected: dict[str, Indicator], source: str, contents: TopicContents, topic: str, allow_empty: bool
) -> None:
    difference = compare(expected, contents.latest)
    if not difference.equal:
        click.echo(describe(difference))
        empty = " (the topic is empty: has the job run?)" if not contents.latest else ""
        raise UserError(f"{topic} differs from {source}{empty}")
    if not expected and not allow_empty:
        raise UserError(f"{topic} and {source} are both empty: nothing was compared ({ALLOW_EMPTY_HINT})")
    click.echo(
        f"OK: {len(contents.latest)} rows in {topic} equal {source} "
        f"({contents.records} records read{_superseded(contents)})"
    )


def _read_without_doubt(kafka: KafkaTarget, topic: str, key_fields: tuple[str, ...] | None) -> TopicContents:
    contents = read_latest(kafka, topic, key_fields=key_fields)
    _refuse_doubt(contents, topic)
    return contents


def _refuse_doubt(contents: TopicContents, topic: str) -> None:
    """Report unreadable records; fail when they leave the latest value of any key unknown."""
    summary = contents.unreadable_summary()
    doubt = contents.doubt()
    if summary and not doubt:
        click.echo(f"{topic}: {summary}, each superseded by a later readable value of its key")
    if doubt:
        click.echo(f"{topic}: {summary}")
        for line in contents.describe_unreadable_latest():
            click.echo(line)
        raise UserError(f"{topic} cannot be verified: {doubt}")


def _update(golden: Path, contents: TopicContents, topic: str, allow_empty: bool, key_fields: KeyFields) -> None:
    if not contents.latest and not allow_empty:
        raise UserError(f"{topic} is empty: not writing an empty golden file {golden} ({ALLOW_EMPTY_HINT})")
    write_golden(golden, contents.latest, key_fields)
    click.echo(f"Wrote {len(contents.latest)} rows to {golden}")


def _superseded(contents: TopicContents) -> str:
    return f", {contents.unreadable} unreadable but superseded" if contents.unreadable else ""


def _expected(
    golden: Path | None,
    recording: Path | None,
    wanted: frozenset[str] | None,
    stations_table: Path,
    key_fields: KeyFields,
    default_fields: KeyFields,
) -> tuple[dict[str, Indicator], str]:
    """The expected rows, keyed as the topic is read (``key_fields``, or the Kafka key); a bad file fails first."""
    if golden is not None:
        if not golden.exists():
            raise UserError(f"golden file {golden} does not exist (create it with --update)")
        return read_golden(golden, key_fields, default_fields=default_fields), str(golden)
    expected = over_recording(Recording(recording), load_postcodes(stations_table), wanted=wanted)
    return expected, f"the computation over {recording}"
