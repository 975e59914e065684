"""Every verb's one exit-status rule: a run stopped by a signal finishes cleanly, prints its summary, then exits
128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process the signal ended.
What else went wrong is still said, as an error line before; without a signal it is the usual exit status 1."""

from __future__ import annotations

import click

from velib_replay.errors import UserError
from velib_replay.signals import StopRequest


def finish(stop: StopRequest, problem: str | None = None) -> None:
    """After the summary: exit as the signal asks, when one asked; else fail on ``problem``, if any."""
    if stop.exit_status is not None:
        if problem:
            click.echo(f"Error: {problem}", err=True)
        raise click.exceptions.Exit(stop.exit_status)
    if problem:
        raise UserError(problem)
