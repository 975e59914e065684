"""Options shared by several commands, declared once so names, defaults and env vars agree."""

from __future__ import annotations

import click

from velib_replay import config


def env(name: str) -> str:
    return f"{config.ENV_PREFIX}_{name}"


bootstrap_servers = click.option(
    "--bootstrap-servers",
    default=config.BOOTSTRAP_SERVERS,
    envvar=env("BOOTSTRAP_SERVERS"),
    show_envvar=True,
    help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT...].",
)
status_topic = click.option(
    "--topic",
    "status_topic",
    default=config.STATUS_TOPIC,
    envvar=env("STATUS_TOPIC"),
    show_envvar=True,
    help="Topic of per-station status messages.",
)
indicators_topic = click.option(
    "--indicators-topic",
    default=config.INDICATORS_TOPIC,
    envvar=env("INDICATORS_TOPIC"),
    show_envvar=True,
    help="Topic of computed indicators.",
)
stations = click.option(
    "--stations",
    default="all",
    envvar=env("STATIONS"),
    show_envvar=True,
    help="Stations to publish: 'all' or comma-separated stationCodes (16107,32017).",
)
