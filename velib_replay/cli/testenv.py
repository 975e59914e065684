"""``velib-replay testenv start|stop|status``: a broker and a warm Spark that pytest attaches to by itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from velib_replay.cli import options
from velib_replay.cli.options import env
from velib_replay.testing import testenv

folder_option = click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=testenv.default_dir,
    envvar=env("TESTENV_DIR"),
    show_envvar=True,
    show_default="<cache>/testenv",
    help="Folder of the test environment's state (pid files, token, logs, the broker's data); pytest looks in"
    " the same place, so set the variable alike for both.",
)


@click.group("testenv")
def command() -> None:
    """A long-lived embedded broker and warm Spark (Spark Connect) for fast test reruns.

    While one is up, pytest's velib-replay plugin attaches to it by itself (its header line says so) instead
    of starting its own broker and SparkSession; each test still gets fresh topics and checkpoints.
    """


@command.command(
    "start", epilog=options.examples("velib-replay testenv start", "velib-replay testenv start --timeout 600")
)
@folder_option
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=testenv.START_TIMEOUT_S, help="Seconds to wait for both parts."
)
def start(folder: Path, timeout: float) -> None:
    """Start the broker and Spark in the background on free loopback ports; returns once both accept connections.

    Spark's server runs in this working directory: relative paths in a job resolve from here.
    """
    started, running = testenv.start(folder, timeout=timeout)
    click.echo(f"test environment {'started' if started else 'already running'} in {folder}")
    _print_parts(running)


@command.command("stop", epilog=options.examples("velib-replay testenv stop"))
@folder_option
def stop(folder: Path) -> None:
    """Stop both parts; nothing of this folder's is left running."""
    stopped = testenv.stop(folder)
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else f"no test environment was running in {folder}")


@command.command("status", epilog=options.examples("velib-replay testenv status", "velib-replay testenv status --json"))
@folder_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(folder: Path, as_json: bool) -> None:
    """Say whether the test environment is up (exit 0), where each part listens and its memory; else exit 1."""
    running = testenv.status(folder)
    if running is None:
        click.echo(json.dumps(None) if as_json else f"no test environment is up in {folder}")
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(testenv.describe(running)))
        return
    click.echo(f"test environment up in {folder}")
    _print_parts(running)


def _print_parts(running: testenv.TestEnv) -> None:
    click.echo(f"  Spark resolves a job's relative paths from {running.workdir}")
    for part in running.parts:
        click.echo(f"  {part.name:<14} {part.address:<22} pid {part.pid:<8} RSS {part.rss_bytes / 2**20:,.0f} MiB")
