"""``velib-replay simulate``: a synthetic recording of a whole day, made from a real snapshot."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import click

from velib_replay import config
from velib_replay.cli import options
from velib_replay.errors import UserError
from velib_replay.recording import COMPRESSIONS
from velib_replay.simulate.day import DayPattern, SimulationSummary, first_status_body, simulate_day
from velib_replay.simulate.versions import GBFS_VERSIONS
from velib_replay.units import parse_time

MAX_STATIONS = 1_000_000  # 700 times Vélib': beyond, a typo rather than a plan
MAX_SNAPSHOTS = 1_000_000  # about two years at one poll a minute


def _station_count(_ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """``all`` keeps the base's stations; a number takes the first N, or copies the network to reach N."""
    if value.strip().lower() == "all":
        return None
    if value.strip().isdigit() and 0 < int(value) <= MAX_STATIONS:
        return int(value)
    raise click.BadParameter(f"{value!r}: use 'all' or a number of stations from 1 to {MAX_STATIONS:,}", param=param)


def _start_time(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use an ISO time such as 2025-10-18T00:00:00Z", param=param) from None


@click.command(
    "simulate",
    epilog=options.examples(
        "velib-replay simulate --snapshots 10 --stations 100 --out recordings/small",
        "velib-replay simulate --snapshots 60 --interval 60 --stations 50 --seed 7 --out recordings/hour",
    ),
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    show_default="recordings/sim-<seed>",
    help="Folder of the new recording (must not hold one already).",
)
@options.seed(1, "SIMULATE_SEED", "Random seed: the same seed and sizes give the same bytes.")
@click.option("--snapshots", type=click.IntRange(1, MAX_SNAPSHOTS), default=1440, help="How many station_status polls.")
@click.option(
    "--interval", type=options.PositiveSeconds(1, 86400), default=60.0, help="Seconds between polls (1 to 86,400)."
)
@click.option(
    "--stations",
    default="all",
    callback=_station_count,
    help="'all' (the base's ~1,500), N < all for the first N, or N > all for copies of the network.",
)
@click.option(
    "--start",
    default=None,
    callback=_start_time,
    help="Fetch time of the first poll (ISO, UTC).  [default: local midnight of the base snapshot's day]",
)
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=config.sample_recording,
    show_default="recordings/sample",
    help="Recording whose first station_status poll is the starting state.",
)
@click.option(
    "--compression",
    type=click.Choice(list(COMPRESSIONS)),
    default="gzip",
    help="How bodies are stored; gzip is the fastest to write here.",
)
@click.option(
    "--every-station-reports",
    is_flag=True,
    help="Every station's last_reported advances at every poll, as in the real feed"
    " (the realistic series for storage benchmarks); by default only stations whose counts changed.",
)
@click.option(
    "--gbfs-version",
    type=click.Choice(GBFS_VERSIONS),
    default=None,
    show_default="Vélib's own dialect",
    help="Write the day as a system of this GBFS version publishes it (station_id, vehicle types, its clock), "
    "with its system_information and vehicle_types.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(
    out: Path | None,
    seed: int,
    snapshots: int,
    interval: float,
    stations: int | None,
    start: datetime | None,
    source: Path,
    compression: str,
    every_station_reports: bool,
    gbfs_version: str | None,
    quiet: bool,
) -> None:
    """Write a synthetic recording of a whole network day, made from a real snapshot.

    Bikes move between stations in trips whose number follows a daily curve (quiet nights,
    morning and evening commute peaks); the morning commute empties residential stations
    and fills business ones, the evening reverses it; e-bikes are taken more often; now and
    then a station stops renting and comes back. Bodies are minified like the real feed's
    and every poll's meta file says how it was made (its `origin`).
    """
    out = out or config.recordings_dir() / f"sim-{seed}"
    base = first_status_body(source)
    started = time.monotonic()
    with _progress(snapshots, quiet) as advance:
        try:
            summary = simulate_day(
                base,
                out,
                seed=seed,
                snapshots=snapshots,
                interval_s=interval,
                stations=stations,
                start=start,
                compression=compression,
                pattern=DayPattern(every_station_reports=every_station_reports),
                on_snapshot=advance,
                gbfs_version=gbfs_version,
            )
        except UserError as error:
            raise click.ClickException(str(error)) from None
    click.echo(_describe(summary, out, time.monotonic() - started))


@contextlib.contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (a full day takes tens of seconds); nothing when quiet or piped."""
    if quiet or not sys.stderr.isatty():
        yield lambda _step: None
        return
    with click.progressbar(length=total, label="Simulating", show_eta=True, show_pos=True, file=sys.stderr) as bar:
        yield lambda _step: bar.update(1)


def _describe(summary: SimulationSummary, out: Path, seconds: float) -> str:
    records = summary.snapshots * summary.stations
    return (
        f"Wrote {summary.snapshots} snapshots x {summary.stations} stations to {out} in {seconds:.1f} s "
        f"({summary.snapshots / seconds:.1f} snapshots/s, {records / seconds:,.0f} station records/s): "
        f"{summary.trips:,} trips, {summary.outages} outages; "
        f"{summary.stored_bytes / 1e6:.1f} MB stored ({summary.body_bytes / 1e6:.0f} MB of JSON)."
    )
