"""``velib-replay dashboard``: a local page that follows the indicators topic live."""

from __future__ import annotations

import click

from velib_replay import config
from velib_replay.cli import options
from velib_replay.cli.stopping import finish
from velib_replay.dashboard.server import open_dashboard
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.signals import Interrupted, StopRequest


@click.command("dashboard", epilog=options.examples("velib-replay dashboard"))
@click.option(
    "--host",
    default=config.DASHBOARD_HOST,
    envvar=options.env("DASHBOARD_HOST"),
    show_envvar=True,
    help="Address to listen on; the default is this machine only (0.0.0.0 opens it to the network).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=config.DASHBOARD_PORT,
    envvar=options.env("DASHBOARD_PORT"),
    show_envvar=True,
    help="Port of the page (0: any free port).",
)
@click.option(
    "--quiet-after",
    type=options.SECONDS,
    default=config.DASHBOARD_QUIET_AFTER_S,
    envvar=options.env("DASHBOARD_QUIET_AFTER"),
    show_envvar=True,
    help="Seconds without a new indicator after which the page says so.",
)
@click.option(
    "--control",
    "control_url",
    type=options.CONTROL_URL,
    default=None,
    envvar=options.env("CONTROL_URL"),
    show_envvar=True,
    metavar="URL",
    help="The URL `play --control` printed: the page then shows play, pause, step, a speed choice and a feed "
    "time slider that drive that replay.",
)
@click.option(
    "--key-fields",
    type=options.KEY_FIELDS,
    envvar=options.env("DASHBOARD_KEY_FIELDS"),
    show_envvar=True,
    help="Value fields that make each row's key, comma-separated (e.g. postcode), for a topic written without "
    "keys (the original consumer's). Default: the Kafka key.",
)
@options.kafka_target
@options.indicators_topic
@options.status_topic
def command(
    host: str,
    port: int,
    quiet_after: float,
    control_url: str | None,
    key_fields: tuple[str, ...] | None,
    kafka: KafkaTarget,
    indicators_topic: str,
    status_topic: str,
) -> None:
    """Serve a page following INDICATORS-TOPIC live: network and postcode charts, latest snapshot, its age,
    the job's lag behind the status --topic, and a notice when nothing arrives; with --control, the replay's
    controls too. Stop it with Ctrl-C."""
    server = open_dashboard(kafka, indicators_topic, status_topic, host, port, quiet_after, control_url, key_fields)
    click.echo(f"Dashboard on {server.url} following {indicators_topic} (Ctrl-C to stop)")
    stop = StopRequest()
    try:
        with stop.handled(), stop.interruptible():
            server.serve_forever()
    except Interrupted:
        click.echo(f"Stopped by {stop.reason}.")
    finally:
        server.close()
    finish(stop)
