"""``velib-replay serve``: a recording played back as the API over HTTP, bodies byte-for-byte."""

from __future__ import annotations

from pathlib import Path

import click

from velib_replay import config
from velib_replay.capture.faults import HttpFault, HttpInjector
from velib_replay.capture.server import DEFAULT_PORT, serve
from velib_replay.cli import options
from velib_replay.cli.capture_options import log_to_stderr
from velib_replay.cli.options import env, recording_argument
from velib_replay.cli.stopping import finish
from velib_replay.errors import UserError
from velib_replay.observe import logs, metrics
from velib_replay.observe.capture_metrics import ServerObserver
from velib_replay.recording import Recording
from velib_replay.signals import StopRequest


@click.command("serve", epilog=options.examples("velib-replay serve recordings/sample --speed max"))
@recording_argument
@click.option(
    "--speed",
    type=options.SPEED,
    default=config.PLAY_SPEED,
    help="1x, 10x, 0.5x ... or max (each request gets the next recorded body).",
)
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
@options.metrics_options
@click.option(
    "--inject",
    "faults",
    type=options.HTTP_FAULT,
    multiple=True,
    callback=options.fault_set(),
    envvar=env("SERVE_INJECT"),
    show_envvar=True,
    help="A fault on feed requests, repeatable: error=P (503), timeout=P (no answer), truncate=P (half the body), "
    "stale=P (the last body again), slow=P:DURATION (e.g. slow=0.1:200ms), reset=P (TCP reset); "
    "P from 0 to 1, adding up to at most 1. At --speed max a faulted request does not use up a body.",
)
@options.seed(
    config.SERVE_SEED,
    "SERVE_SEED",
    "Seed of the --inject draws: one per feed request, in request order, so a run can be reproduced.",
)
def command(
    recording: Path,
    speed: float | None,
    host: str,
    port: int,
    loop: bool,
    gaps: bool,
    metrics_port: int | None,
    metrics_host: str,
    log_format: str,
    faults: tuple[HttpFault, ...],
    seed: int,
) -> None:
    """Replay RECORDING as the Vélib' API over HTTP, bodies byte-for-byte.

    GET /station_status.json, /station_information.json (any path ending so) and
    /gbfs.json. Point `record --url` or `live --url`, or your own consumer, at it.
    With --inject, some feed requests get a fault instead, each logged, and counted
    by kind in the summary at exit.
    """
    log_to_stderr(log_format)
    injector = HttpInjector(faults, seed) if faults else None
    server = serve(Recording(recording), speed=speed, host=host, port=port, loop=loop, gaps=gaps, injector=injector)
    feeds = " ".join(f"{server.url}/{feed}.json" for feed in ["gbfs", *server.replay.feeds])
    injected = f" injecting {' '.join(map(str, injector.faults))} (seed {seed})" if injector else ""
    pace = f"{speed:g}x" if speed else "max"
    logs.announce(f"Serving {recording} at {pace}{injected} (Ctrl-C to stop): {feeds}", log_format)
    observed = ServerObserver(server).observed
    with StopRequest().handled() as stopper, server.start(), metrics.serving(observed, metrics_port, metrics_host):
        while not stopper.wait(0.5) and not server.damaged:
            pass
    if server.damaged:
        raise UserError(f"{server.damaged}; stopped serving after {server.summary()}")
    click.echo(f"Stopped by {stopper.reason}: {server.summary()}")
    finish(stopper)
