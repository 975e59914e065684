"""``velib-replay convert``: rewrite a recording with another codec (v1 ↔ v2), bodies byte-exact."""

from __future__ import annotations

from pathlib import Path

import click

from velib_replay.cli import options
from velib_replay.cli.options import env, keyframe_every_option, recording_argument
from velib_replay.recording import COMPRESSIONS, DELTA
from velib_replay.recording.convert import convert
from velib_replay.units import format_bytes


@click.command(
    "convert",
    epilog=options.examples(
        "velib-replay convert recordings/sample recordings/sample-zstd --compression zstd",
        "velib-replay convert recordings/sample recordings/sample-delta --compression zstd-delta",
    ),
)
@recording_argument
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--compression",
    type=click.Choice(sorted(COMPRESSIONS)),
    default=DELTA,
    envvar=env("COMPRESSION"),
    show_envvar=True,
    help="The codec of OUT: zstd-delta writes format v2; gzip, zstd and none write v1 (readable by older versions).",
)
@keyframe_every_option
def command(recording: Path, out: Path, compression: str, keyframe_every: int) -> None:
    """Write RECORDING again as the new recording OUT with another codec, poll for poll.

    Fetch times, meta fields and the index are kept; only how bodies are stored changes.
    """
    report = convert(recording, out, compression, keyframe_every=keyframe_every)
    ratio = f"{report.raw_bytes / report.stored_after:.1f}" if report.stored_after else "-"
    click.echo(
        f"Converted {report.polls} polls to {out} ({compression}): bodies {format_bytes(report.stored_before)}"
        f" → {format_bytes(report.stored_after)} stored ({format_bytes(report.raw_bytes)} raw, ratio {ratio})"
    )
