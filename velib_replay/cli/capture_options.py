"""Options shared by the commands that poll the API (``record``, ``live``): feeds, schedule, HTTP client."""

from __future__ import annotations

import logging

import click

from velib_replay.capture.client import DEFAULT_MAX_BODY, ClientSettings, parse_header
from velib_replay.capture.recorder import DEFAULT_COMPRESSION, DEFAULT_INFO_EVERY, DEFAULT_INTERVAL, Limits
from velib_replay.cli import options
from velib_replay.cli.options import compose, env, keyframe_every_option
from velib_replay.errors import UserError
from velib_replay.kafka import client_logs
from velib_replay.observe import logs
from velib_replay.recording import COMPRESSIONS

feed_options = compose(
    click.option(
        "--url",
        "status_url",
        envvar=env("STATUS_URL"),
        show_envvar=True,
        show_default="Vélib' Métropole station_status.json",
        help="The station_status.json to poll.",
    ),
    click.option(
        "--info-url",
        envvar=env("INFO_URL"),
        show_envvar=True,
        show_default="beside --url, or the one --gbfs lists",
        help="The station_information.json to record (at start, then when it changes); 'none' to skip it.",
    ),
    click.option(
        "--gbfs",
        "gbfs_url",
        envvar=env("GBFS_URL"),
        show_envvar=True,
        help="A GBFS gbfs.json (v1.0 to v3.0) to take the feed URLs from (--url / --info-url still win); "
        "system_information, vehicle_types and system_regions are recorded too where listed, each at its ttl.",
    ),
    click.option(
        "--lang",
        envvar=env("LANG"),
        show_envvar=True,
        show_default="the first language gbfs.json lists",
        help="The language whose feeds to take from a GBFS v1/v2 gbfs.json (v3 lists one set of feeds).",
    ),
    click.option(
        "--info-every",
        type=options.PositiveSeconds(),
        metavar="MINUTES",
        default=DEFAULT_INFO_EVERY / 60,
        envvar=env("INFO_EVERY"),
        show_envvar=True,
        help="Minutes between checks of station_information (fractions allowed: 0.5 is 30 s).",
    ),
)
schedule_options = compose(
    click.option(
        "--interval",
        type=options.SECONDS,
        default=DEFAULT_INTERVAL,
        envvar=env("INTERVAL"),
        show_envvar=True,
        help="Seconds between polls (fractions allowed: 0.2).",
    ),
    click.option("--count", type=click.IntRange(min=1), show_default="until stopped", help="Stop after N polls."),
    click.option(
        "--duration",
        type=options.DURATION,
        show_default="until stopped",
        help="Stop after this long: 90s, 30m, 2h, 1.5d.",
    ),
)
client_options = compose(
    click.option(
        "--timeout",
        type=options.SECONDS,
        default=ClientSettings.timeout,
        envvar=env("TIMEOUT"),
        show_envvar=True,
        help="Seconds for the API's whole answer, connection, headers and body (per attempt); then it is a gap.",
    ),
    click.option(
        "--max-body",
        type=options.SIZE,
        default=f"{DEFAULT_MAX_BODY // 10**6}MB",
        envvar=env("MAX_BODY"),
        show_envvar=True,
        help="Largest body accepted (decoded): 16MB, 500KB or bytes; a larger one is abandoned as a gap.",
    ),
    click.option(
        "--connect-timeout",
        type=options.SECONDS,
        default=ClientSettings.connect_timeout,
        help="Seconds to wait for a connection (per attempt).",
    ),
    click.option(
        "--retries",
        type=click.IntRange(min=0),
        default=ClientSettings.retries,
        envvar=env("RETRIES"),
        show_envvar=True,
        help="Retries of a failed poll (connection errors, timeouts, 5xx, 429), with exponential backoff.",
    ),
    click.option(
        "--header",
        "headers",
        multiple=True,
        help="'Name: value' sent with every request, e.g. an API key; key and token headers are never stored.",
    ),
)
compression_option = compose(
    click.option(
        "--compression",
        type=click.Choice(sorted(COMPRESSIONS)),
        default=DEFAULT_COMPRESSION,
        envvar=env("COMPRESSION"),
        show_envvar=True,
        help="How bodies are stored: zstd-delta (format v2) ~6 KB per 457 KB snapshot as a delta of the"
        " previous one; zstd ~25 KB, gzip ~33 KB each on its own (format v1, readable by older versions).",
    ),
    keyframe_every_option,
)


def client_settings(
    timeout: float, max_body: int, connect_timeout: float, retries: int, headers: tuple[str, ...]
) -> ClientSettings:
    return ClientSettings(
        connect_timeout=connect_timeout,
        timeout=timeout,
        max_body=max_body,
        retries=retries,
        headers=dict(parse_header(header) for header in headers),
    )


def limits(count: int | None, duration: float | None) -> Limits:
    if count is not None and duration is not None:
        raise UserError("give --count or --duration, not both")
    return Limits(count, duration)


def log_to_stderr(log_format: str = "text") -> None:
    """Status lines and warnings go to stderr as log lines (text or JSON) when it is not a terminal.

    urllib3's own retry warnings are silenced: they repeat what the gap notes say, and
    they print request paths with their query strings, where API keys may be.
    """
    if log_format == "json":
        logs.relay_stderr_as_json()
    logging.basicConfig(level=logging.INFO, handlers=[logs.handler(log_format)])
    client_logs.client_libraries(log_format)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
