"""``velib-replay``: the command-line face of the package, one thin module per verb.

Commands only parse options (``options`` holds the shared ones and the parameter
types) and print; the work is done by library functions that the tests call directly.
"""

from __future__ import annotations

import os

import click

from velib_replay import __version__
from velib_replay.cli import (
    convert,
    dashboard,
    demo,
    info,
    kafka,
    live,
    play,
    process,
    record,
    report,
    robustness,
    scenario,
    serve,
    setup,
    simulate,
    testenv,
    topics,
    verify,
)
from velib_replay.cli.options import KAFKA_SETTINGS, env
from velib_replay.errors import UserError
from velib_replay.kafka import client_logs
from velib_replay.kafka.client_config import ClientConfig

DEBUG_ENV = env("DEBUG")


class _Group(click.Group):
    """Turns any failure below into ``Error: <one line>`` and exit status 1; a traceback only with --debug.

    A UserError is a failure the code foresaw and explains. Anything else is a defect of
    velib-replay: it is still one line (what, and how to see the whole trace), never a
    traceback on a user's terminal, and the CLI fuzz test holds every verb to it.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as error:
            raise click.ClickException(_redact(ctx, str(error))) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as error:  # a path that cannot be used: the system's own words name the file and the cause
            raise click.ClickException(os_error_line(error)) from None
        except Exception as error:
            if ctx.meta.get(DEBUG_ENV) or os.environ.get(DEBUG_ENV):
                raise
            first_line = _redact(ctx, (str(error).strip().splitlines() or [""])[0][:300])
            raise click.ClickException(
                f"internal error: {type(error).__name__}: {first_line} "
                f"(run with --debug or {DEBUG_ENV}=1 for the full trace, and please report it)"
            ) from None


def _redact(ctx: click.Context, text: str) -> str:
    """``text`` without the secrets of the command's --kafka-config (shared through ``ctx.meta``)."""
    return ctx.meta.get(KAFKA_SETTINGS, ClientConfig()).redact(text)


def os_error_line(error: OSError) -> str:
    """``cannot use /a/b: Not a directory``: what the system said, about which file, in one line."""
    where = f" {error.filename}" if error.filename else ""
    if error.filename2:
        where += f" → {error.filename2}"
    return f"cannot use{where}: {error.strerror or error}"


def _remember_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta[DEBUG_ENV] = value
    return value


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="velib-replay")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_remember_debug,
    envvar=DEBUG_ENV,
    show_envvar=True,
    help="Show the full Python trace of an unexpected failure.",
)
def main() -> None:
    """Record, replay and verify Vélib' bike-share data pipelines on Kafka and Spark.

    Options can also be set through environment variables, named in each
    command's --help (VELIB_REPLAY_...).
    """
    client_logs.client_libraries()  # commands with --log-format json set it again


VERBS = (
    setup,
    kafka,
    topics,
    play,
    process,
    verify,
    demo,
    record,
    info,
    convert,
    live,
    serve,
    simulate,
    report,
    dashboard,
    scenario,
    robustness,
    testenv,
)
for _verb in VERBS:
    main.add_command(_verb.command)
