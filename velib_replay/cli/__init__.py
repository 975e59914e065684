"""``velib-replay``: the command-line face of the package, one thin module per verb.

Commands only parse options (``options`` holds the shared ones and the parameter
types) and print; the work is done by library functions that the tests call directly.
"""

from __future__ import annotations

import click

from velib_replay import __version__
from velib_replay.cli import (
    demo,
    info,
    kafka,
    live,
    play,
    process,
    record,
    serve,
    setup,
    simulate,
    topics,
    verify,
)
from velib_replay.errors import UserError


class _Group(click.Group):
    """Turns a UserError anywhere below into ``Error: <one line>`` and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="velib-replay")
def main() -> None:
    """Record, replay and verify Vélib' bike-share data pipelines on Kafka and Spark.

    Options can also be set through environment variables, named in each
    command's --help (VELIB_REPLAY_...).
    """


VERBS = (setup, kafka, topics, play, process, verify, demo, record, info, live, serve, simulate)
for _verb in VERBS:
    main.add_command(_verb.command)
