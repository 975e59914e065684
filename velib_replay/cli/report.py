"""``velib-replay report``: one self-contained HTML page (and PNGs) of a recording's or the topic's indicators."""

from __future__ import annotations

from pathlib import Path

import click

from velib_replay import config
from velib_replay.cli import options
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.report import data as report_data
from velib_replay.report import write_report
from velib_replay.units import format_bytes


@click.command(
    "report",
    epilog=options.examples(
        "velib-replay report recordings/sample --out reports/sample.html",
        "velib-replay report --from-topic --no-images --out reports/topic.html",
    ),
)
@click.argument("recording", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=options.env("REPORT_OUT"),
    show_envvar=True,
    help="The HTML file to write (PNGs go beside it). [default: reports/<recording or topic>.html]",
)
@click.option(
    "--from-topic",
    is_flag=True,
    help="Chart what the job wrote to the indicators topic instead of the reference computation over "
    "RECORDING; RECORDING is then optional and only adds the map and the health section.",
)
@click.option(
    "--key-fields",
    type=options.KEY_FIELDS,
    help="With --from-topic: value fields that make each row's key, comma-separated (e.g. postcode), for a topic "
    "written without keys (the original consumer's). Default: the Kafka key.",
)
@click.option("--images/--no-images", default=True, help="Also write PNGs of the network chart and the map.")
@options.stations_table
@options.kafka_target
@options.indicators_topic
def command(
    recording: Path | None,
    out: Path | None,
    from_topic: bool,
    key_fields: tuple[str, ...] | None,
    images: bool,
    stations_table: Path,
    kafka: KafkaTarget,
    indicators_topic: str,
) -> None:
    """Write an HTML report (network over time, postcodes, station map, recording health) that opens offline."""
    if key_fields and not from_topic:
        raise click.UsageError("--key-fields keys the rows of --from-topic")
    if from_topic:
        data = report_data.from_topic(kafka, indicators_topic, recording, key_fields)
    elif recording is None:
        raise click.UsageError("give a RECORDING, or --from-topic to chart the indicators topic")
    else:
        data = report_data.from_recording(recording, load_postcodes(stations_table))
    written = write_report(data, out or config.reports_dir() / f"{data.title}.html", images=images)
    click.echo(f"Wrote {written.page} ({format_bytes(written.size)}, opens offline)")
    for image in written.images:
        click.echo(f"Wrote {image}")
