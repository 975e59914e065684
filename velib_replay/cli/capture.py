"""Commands that talk to the Vélib' API or stand in for it: record, info, live, serve."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from velib_replay import recording_info
from velib_replay.api_client import ClientSettings, parse_header, redact_url
from velib_replay.cli import options
from velib_replay.errors import UserError
from velib_replay.live import DEFAULT_MAX_BACKLOG, DELIVERY_TIMEOUT, LivePlan, kafka_connector, live
from velib_replay.messages import parse_station_filter
from velib_replay.recorder import (
    DEFAULT_COMPRESSION,
    DEFAULT_INFO_EVERY,
    DEFAULT_INTERVAL,
    Limits,
    RecordPlan,
    StatusLine,
    Stopper,
    default_out_dir,
    parse_duration,
    record,
    resolve_sources,
)
from velib_replay.recording import COMPRESSIONS, Recording
from velib_replay.server import DEFAULT_PORT, parse_speed, serve

env = options.env
recording_argument = click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))


def _compose(*decorators: Callable) -> Callable:
    """Several click options as one decorator, so commands that share them declare them once."""

    def apply(function: Callable) -> Callable:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


feed_options = _compose(
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
        help="A GBFS gbfs.json to take both feed URLs from (--url / --info-url still win).",
    ),
    click.option(
        "--info-every",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_INFO_EVERY / 60,
        envvar=env("INFO_EVERY"),
        show_envvar=True,
        help="Minutes between checks of station_information.",
    ),
)
schedule_options = _compose(
    click.option(
        "--interval",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_INTERVAL,
        envvar=env("INTERVAL"),
        show_envvar=True,
        help="Seconds between polls (fractions allowed: 0.2).",
    ),
    click.option("--count", type=click.IntRange(min=1), show_default="until stopped", help="Stop after N polls."),
    click.option("--duration", show_default="until stopped", help="Stop after this long: 90s, 30m, 2h, 1.5d."),
)
client_options = _compose(
    click.option(
        "--timeout",
        "read_timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=ClientSettings.read_timeout,
        envvar=env("TIMEOUT"),
        show_envvar=True,
        help="Seconds to wait for the API's answer (per attempt).",
    ),
    click.option(
        "--connect-timeout",
        type=click.FloatRange(min=0, min_open=True),
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
compression_option = click.option(
    "--compression",
    type=click.Choice(sorted(COMPRESSIONS)),
    default=DEFAULT_COMPRESSION,
    envvar=env("COMPRESSION"),
    show_envvar=True,
    help="How bodies are stored (zstd: ~25 KB per 457 KB snapshot; gzip: ~33 KB).",
)


def _settings(read_timeout: float, connect_timeout: float, retries: int, headers: tuple[str, ...]) -> ClientSettings:
    return ClientSettings(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries=retries,
        headers=dict(parse_header(header) for header in headers),
    )


def _limits(count: int | None, duration: str | None) -> Limits:
    if count is not None and duration is not None:
        raise UserError("give --count or --duration, not both")
    return Limits(count, parse_duration(duration) if duration else None)


def _log_to_stderr() -> None:
    """Status lines and warnings go to stderr as log lines when it is not a terminal.

    urllib3's own retry warnings are silenced: they repeat what the gap notes say, and
    they print request paths with their query strings, where API keys may be.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.ERROR)


@click.command("record")
@feed_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=env("RECORD_OUT"),
    show_envvar=True,
    show_default="recordings/<UTC start time>",
    help="Recording folder; an existing recording is appended to (to resume after a crash).",
)
@schedule_options
@compression_option
@client_options
def record_command(
    status_url: str | None,
    info_url: str | None,
    gbfs_url: str | None,
    info_every: float,
    out: Path | None,
    interval: float,
    count: int | None,
    duration: str | None,
    compression: str,
    **client: Any,
) -> None:
    """Poll the Vélib' API and store every response byte-for-byte, gaps and faults included.

    Stops after --count polls, after --duration, or on Ctrl-C / SIGTERM (the write in
    progress is finished; the summary is printed; exit status 0).
    """
    _log_to_stderr()
    settings = _settings(**client)
    sources = resolve_sources(status_url, info_url, gbfs_url, info_every * 60, settings)
    plan = RecordPlan(out or default_out_dir(), sources, interval, _limits(count, duration), compression)
    click.echo(f"Recording {plan.out} every {interval:g} s (Ctrl-C to stop)", err=True)
    with Stopper().signals_handled() as stopper:
        result = record(plan, settings, stopper=stopper, status=StatusLine())
    click.echo(result.summary())
    if result.failure:
        raise UserError(result.failure)


@click.command("info")
@recording_argument
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild the index from the meta files first, and list bodies a crash left uncommitted.",
)
def info_command(recording: Path, as_json: bool, repair: bool) -> None:
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


@click.command("live")
@feed_options
@schedule_options
@options.stations
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also record every poll (and station_information) into this folder.",
)
@options.bootstrap_servers
@options.status_topic
@click.option(
    "--max-backlog",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BACKLOG,
    help="Snapshots kept while Kafka is unreachable; beyond, the oldest is dropped and reported.",
)
@click.option(
    "--delivery-timeout",
    type=click.FloatRange(min=1),
    default=DELIVERY_TIMEOUT,
    help="Seconds a snapshot may wait on Kafka before the outage is reported and the snapshot retried.",
)
@compression_option
@client_options
def live_command(
    status_url: str | None,
    info_url: str | None,
    gbfs_url: str | None,
    info_every: float,
    interval: float,
    count: int | None,
    duration: str | None,
    stations: str,
    record_dir: Path | None,
    bootstrap_servers: str,
    status_topic: str,
    max_backlog: int,
    delivery_timeout: float,
    compression: str,
    **client: Any,
) -> None:
    """Poll the API and publish each snapshot to Kafka, exactly as `play` would.

    API faults are retried and reported as in `record`; while Kafka is unreachable,
    snapshots wait (up to --max-backlog) and are delivered when it is back. Exit
    status 1 if any snapshot was not delivered.
    """
    _log_to_stderr()
    try:
        wanted = parse_station_filter(stations)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--stations") from None
    settings = _settings(**client)
    sources = resolve_sources(status_url, info_url, gbfs_url, info_every * 60, settings)
    plan = LivePlan(sources, interval, _limits(count, duration), wanted, record_dir, compression, max_backlog)
    connect = kafka_connector(bootstrap_servers, status_topic, delivery_timeout)
    banner = f"Publishing {redact_url(sources.status_url)} to {status_topic} every {interval:g} s (Ctrl-C to stop)"
    click.echo(banner, err=True)
    with Stopper().signals_handled() as stopper:
        result = live(plan, connect, settings, stopper=stopper, status=StatusLine())
    click.echo(result.summary())
    if result.failure:
        raise UserError(result.failure)
    if result.undelivered:
        kept = f"; they are in {record_dir} (`velib-replay play` can send them)" if record_dir else ""
        raise UserError(f"{result.undelivered} snapshot(s) were not delivered to Kafka{kept}")


@click.command("serve")
@recording_argument
@click.option("--speed", default="1x", help="1x, 10x, 0.5x ... or max (each request gets the next recorded body).")
@click.option("--host", default="127.0.0.1", envvar=env("SERVE_HOST"), show_envvar=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    envvar=env("SERVE_PORT"),
    show_envvar=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--loop", is_flag=True, help="Start over at the end of the recording instead of staying on its last body."
)
@click.option("--gaps", is_flag=True, help="Answer 503 where the recording has a gap (reproduce outages).")
def serve_command(recording: Path, speed: str, host: str, port: int, loop: bool, gaps: bool) -> None:
    """Replay RECORDING as the Vélib' API over HTTP, bodies byte-for-byte.

    GET /station_status.json, /station_information.json (any path ending so) and
    /gbfs.json. Point `record --url` or `live --url`, or your own consumer, at it.
    """
    _log_to_stderr()
    server = serve(Recording(recording), speed=parse_speed(speed), host=host, port=port, loop=loop, gaps=gaps)
    feeds = " ".join(f"{server.url}/{feed}.json" for feed in ["gbfs", *server.replay.feeds])
    click.echo(f"Serving {recording} at {speed} (Ctrl-C to stop): {feeds}", err=True)
    with Stopper().signals_handled() as stopper, server.start():
        while not stopper.wait(0.5):
            pass
    click.echo(f"Stopped by {stopper.reason}: {server.requests_served} requests served")


COMMANDS: list[click.Command] = [record_command, info_command, live_command, serve_command]
