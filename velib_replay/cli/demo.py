"""``velib-replay demo``: README's first command, the whole pipeline on the embedded defaults."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from velib_replay import config
from velib_replay.cli import options
from velib_replay.cli.tables import latest_table, totals_table
from velib_replay.errors import UserError
from velib_replay.kafka import broker
from velib_replay.pipeline import demo
from velib_replay.verify.diff import describe


@click.command("demo", epilog=options.examples("velib-replay demo"))
@click.option(
    "--recording",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=config.sample_recording,
    show_default="recordings/sample",
    help="The recording to replay through the embedded broker and the job, and to check against its golden file.",
)
@options.kafka_port
@options.kafka_data_dir
def command(recording: Path, port: int, data_dir: Path) -> None:
    """Embedded Kafka, topics, replay of the sample at max speed, the job, a table, and the golden check.

    When the default port is held by another process (another Kafka, say), the demo's broker starts on free ports
    and says where; a --port (or VELIB_REPLAY_KAFKA_PORT) you chose is used as given.
    """
    # the default port, taken by another process, moves to free ports; a port the user chose is kept or refused
    chosen = click.get_current_context().get_parameter_source("port") is not ParameterSource.DEFAULT
    with demo.fresh_checkpoint() as checkpoint:
        embedded = broker.Broker(data_dir, port)
        result = demo.run_demo(recording, embedded, checkpoint, say=click.echo, move_if_taken=not chosen)
    click.echo(
        f"Job: {result.job.input_rows} messages → {result.job.indicator_rows} indicator rows "
        f"({result.job.batches} batch(es))"
    )
    click.echo("\nNetwork totals per snapshot:\n" + totals_table(result.contents.latest))
    click.echo("\nLatest snapshot by postcode:\n" + latest_table(result.contents.latest))
    doubt = result.contents.doubt()
    if doubt:
        raise UserError(f"the indicators cannot be verified: {doubt}")
    if not result.difference.equal:
        click.echo(describe(result.difference))
        raise UserError(f"the indicators differ from {recording / demo.GOLDEN_NAME}")
    click.echo(
        f"\nVerification passed: {len(result.contents.latest)} indicator rows equal {recording / demo.GOLDEN_NAME}"
    )
    click.echo(f"\nReport (open it in a browser, it works offline): {result.report.page}")
    click.echo(
        f"\nThe embedded Kafka broker is still running on {result.kafka.servers} "
        f"(stop it with `{_this_command()} kafka stop --data-dir {data_dir}`)."
    )


def _this_command() -> str:
    """How the user reached this CLI (``.venv/bin/velib-replay`` after README's first command), to say it back."""
    invoked = Path(sys.argv[0])
    if invoked.name != "velib-replay" or shutil.which("velib-replay") == str(invoked):
        return "velib-replay"
    return shlex.quote(os.path.relpath(invoked))
