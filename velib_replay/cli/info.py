"""``velib-replay info``: what a recording holds, and whether every poll is accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import click

from velib_replay.cli import options
from velib_replay.cli.options import recording_argument
from velib_replay.errors import UserError
from velib_replay.recording import Recording
from velib_replay.recording import info as recording_info


@click.command(
    "info", epilog=options.examples("velib-replay info recordings/sample", "velib-replay info recordings/sample --json")
)
@recording_argument
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild the index from the meta files first, and list bodies a crash left uncommitted.",
)
def command(recording: Path, as_json: bool, repair: bool) -> None:
    """Time span, polls, snapshots, gaps, invalid bodies, stations and size of RECORDING."""
    if repair:
        report = recording_info.repair(recording)
        orphans = f"; uncommitted bodies (left out): {', '.join(report.orphan_bodies)}" if report.orphan_bodies else ""
        click.echo(
            f"Index rebuilt: {report.polls} polls; {report.removed_temp_files} stale temp files removed{orphans}",
            err=as_json,
        )
    info = recording_info.describe(Recording(recording))
    click.echo(
        json.dumps(info.as_json(), indent=2, ensure_ascii=False) if as_json else recording_info.format_text(info)
    )
    if info.damaged:
        raise UserError(f"{len(info.damaged)} damaged bodies in {recording}: {'; '.join(info.damaged)}")
