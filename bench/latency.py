"""End-to-end latency of the live pipeline, and the job's throughput headroom.

``serve`` replays a synthetic full-network recording with one snapshot a second; ``live`` polls it every
second (1x) and publishes; ``process`` runs continuously with a trigger interval of 1 s, then 5 s. For
each snapshot, latency = its final indicator rows on the topic minus its publish (broker timestamps,
see ``live_pipeline``). Target: p99 ≤ trigger + 2 s. Headroom: the same job fed faster (serve at Nx,
live polling every 1/N s) until p99 misses the target; the highest rate that met it is reported.
Each phase uses its own simulated day, so the phases never share an indicator key. Before them, a
warm-up phase at 1x is run and shown but not judged: the job's first batches after its start (JVM
compilation, first state-store commits) take up to 15 s, which is its startup, not its latency.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness import machine_load, main, print_table, say, simulated, workspace
from live_pipeline import Topics, latencies_s, start_job, start_live, start_serve

from velib_replay.contracts.feed import iso_utc
from velib_replay.recording import STATUS_FEED, Recording

TRIGGERS_S = (1.0, 5.0)
TARGET_MARGIN_S = 2.0
DAY_ONE = datetime(2025, 10, 20, 8, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Sizes:
    snapshots: int  # at 1x (the issue asks for at least 100)
    warmup: int  # at 1x, before the measured phases
    headroom_snapshots: int
    rates: tuple[float, ...]  # polls per second tried for the headroom, in order
    stations: int | None  # None: the whole network (~1,500)


FULL = Sizes(snapshots=120, warmup=60, headroom_snapshots=60, rates=(2, 4, 8, 16), stations=None)
# a smoke run, even on a busy machine
QUICK = Sizes(snapshots=30, warmup=20, headroom_snapshots=20, rates=(4,), stations=200)


@dataclass
class Phase:
    trigger_s: float
    rate: float
    latencies: list[float]
    missing: int
    achieved: float  # snapshots live published per second: below ``rate``, live itself could not keep up
    judged: bool = True  # False for the warm-up

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    @property
    def kept_up(self) -> bool:
        return not self.missing and bool(self.latencies) and self.p99 <= self.trigger_s + TARGET_MARGIN_S

    @property
    def verdict(self) -> str:
        if not self.judged:
            return "warm-up, not judged"
        return f"≤ {self.trigger_s + TARGET_MARGIN_S:g}: {'yes' if self.kept_up else 'NO'}"

    def row(self) -> list[object]:
        found = self.latencies or [float("nan")]
        return [
            f"{self.trigger_s:g} s",
            f"{self.rate:g}/s",
            f"{self.achieved:.2f}/s",
            len(self.latencies),
            f"{percentile(found, 50):.2f}",
            f"{percentile(found, 99):.2f}",
            f"{max(found):.2f}",
            self.missing,
            self.verdict,
        ]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest, no interpolation); nan for none."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def feed_times(recording: Recording) -> set[str]:
    return {iso_utc(poll.snapshot_time) for poll in recording.polls(STATUS_FEED) if not poll.is_gap}


def phase(
    bootstrap: str, names: Topics, folder: Path, trigger_s: float, rate: float, snapshots: int, sizes: Sizes, day: int
) -> Phase:
    """One run of serve + live at ``rate`` polls a second against the running job, as long as the recording lasts."""
    here = folder / f"day-{day}"
    here.mkdir()
    start = DAY_ONE + timedelta(days=day)
    recording = simulated(here / "recording", snapshots=snapshots, interval_s=1.0, start=start, stations=sizes.stations)
    server, url = start_serve(recording.path, rate, here)
    try:
        live = start_live(url, bootstrap, names, 1 / rate, here, count=None)
        live.wait_for("status", 1, timeout=300)  # a busy machine takes long to start a Python process
        time.sleep(snapshots / rate + 1)  # the recording's length at this speed; then serve repeats its last body
        live.stop()
    finally:
        server.stop()
    found, missing = latencies_s(bootstrap, names, feed_times(recording), catch_up_s=trigger_s + 60)
    result = Phase(trigger_s, rate, found, missing, (len(found) + missing) / (snapshots / rate + 1))
    say(f"  trigger {trigger_s:g} s, {rate:g} polls/s: {len(found)} snapshots, p99 {result.p99:.2f} s")
    return result


def headroom(trigger_s: float, kept: list[Phase]) -> str:
    """The most the job kept up with, in polls asked and in snapshots ``live`` managed to publish: where
    ``live`` published fewer than asked, ``live`` was the limit, not the job."""
    if not kept:
        return f"trigger {trigger_s:g} s: missed the target at 1x"
    asked, published = max(r.rate for r in kept), max(r.achieved for r in kept)
    return f"trigger {trigger_s:g} s: keeps up with {asked:g} polls/s asked, {published:.2f} snapshots/s published"


def run(quick: bool, bootstrap: str | None) -> None:
    sizes = QUICK if quick else FULL
    rows: list[Phase] = []
    with workspace(bootstrap) as (folder, servers):
        for trigger_s in TRIGGERS_S:
            here = Path(tempfile.mkdtemp(prefix=f"trigger-{trigger_s:g}-", dir=folder))
            names = Topics.fresh(servers, f"latency-{trigger_s:g}")
            say(f"trigger {trigger_s:g} s: starting the job")
            job, _ = start_job(servers, names, here, trigger_s)
            try:
                warmup = phase(servers, names, here, trigger_s, 1.0, sizes.warmup, sizes, day=0)
                rows.append(dataclasses.replace(warmup, judged=False))
                rows.append(phase(servers, names, here, trigger_s, 1.0, sizes.snapshots, sizes, day=1))
                for day, rate in enumerate(sizes.rates, start=2):
                    rows.append(phase(servers, names, here, trigger_s, rate, sizes.headroom_snapshots, sizes, day))
                    if not rows[-1].kept_up:
                        break
            finally:
                job.stop()
    headers = ["trigger", "polls", "published", "snapshots", "p50 s", "p99 s", "max s", "missing", "target p99"]
    network = f"{sizes.stations} stations" if sizes.stations else "the whole network"
    title = f"End-to-end latency, publish → final indicator rows (live → Kafka → process), {network}"
    print_table(title, [r.row() for r in rows], headers)
    for trigger_s in TRIGGERS_S:
        print(headroom(trigger_s, [r for r in rows if r.trigger_s == trigger_s and r.judged and r.kept_up]))
    print(machine_load())


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
