"""``velib-replay record``: poll the API for hours or days and store every response byte-for-byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from velib_replay.capture.recorder import RecordPlan, default_out_dir, record, resolve_sources
from velib_replay.cli import options
from velib_replay.cli.capture_options import (
    client_options,
    client_settings,
    compression_option,
    feed_options,
    limits,
    log_to_stderr,
    schedule_options,
)
from velib_replay.cli.options import env
from velib_replay.cli.stopping import finish
from velib_replay.observe import logs, metrics
from velib_replay.observe.capture_metrics import CaptureObserver
from velib_replay.signals import StopRequest


@click.command(
    "record",
    epilog=options.examples(
        "velib-replay record --count 3 --interval 1 --out recordings/today",
        "velib-replay record --count 2 --interval 1 --compression zstd-delta --out recordings/delta",
    ),
)
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
@options.metrics_options
@options.stale_after
def command(
    status_url: str | None,
    info_url: str | None,
    gbfs_url: str | None,
    lang: str | None,
    info_every: float,
    out: Path | None,
    interval: float,
    count: int | None,
    duration: float | None,
    compression: str,
    metrics_port: int | None,
    metrics_host: str,
    log_format: str,
    stale_after: float,
    keyframe_every: int,
    **client: Any,
) -> None:
    """Poll the Vélib' API (or any GBFS system: --gbfs) and store every response byte-for-byte, faults included.

    Stops after --count polls, after --duration, or on Ctrl-C / SIGTERM (the write in
    progress is finished; the summary is printed; exit status 130 or 143).
    """
    log_to_stderr(log_format)
    settings = client_settings(**client)
    sources = resolve_sources(status_url, info_url, gbfs_url, info_every * 60, settings, lang)
    plan = RecordPlan(out or default_out_dir(), sources, interval, limits(count, duration), compression, keyframe_every)
    logs.announce(f"Recording {plan.out} every {interval:g} s (Ctrl-C to stop)", log_format)
    observer = CaptureObserver()
    status = logs.status_line(log_format, observer.facts)
    observed = observer.serving_health(stale_after)
    with StopRequest().handled() as stopper, metrics.serving(observed, metrics_port, metrics_host):
        result = record(plan, settings, stopper=stopper, status=status, observer=observer)
    click.echo(result.summary())
    finish(stopper, result.failure)
