"""Pacing error of the player at 10x and 60x over 200 full-network snapshots.

The player sends each snapshot at an absolute time (its offset in the recording divided
by the speed) and measures, for every snapshot, how late the send started (actual minus
scheduled time). The recordings are synthetic (``velib-replay simulate``, ~1,500 stations)
stored as ``record`` stores them (format v2, zstd deltas: the player decodes one per snapshot),
with a poll interval chosen so that sends are one second apart at each speed (half a
second with --quick): 10 s polls for 10x, 60 s polls (the real feed's) for 60x.
Targets: p99 <= 5 ms, and no drift: the error of the last snapshot is no larger than the
first's, and the least-squares trend over the run is flat.

    python bench/pacing.py [--quick]
"""

from __future__ import annotations

import statistics
from pathlib import Path

from harness import fresh_topic, machine_load, main, print_table, say, simulated, workspace

from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import DELTA, Recording
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import PlayStats, replay_delivered

SPEEDS = (10.0, 60.0)
SNAPSHOTS = 200
TARGET_P99_MS = 5.0
DRIFT_TOLERANCE_MS = 1.0  # last minus first, and the trend over the run, within this is "no drift"


def paced(bootstrap: str, recording: Recording, speed: float) -> PlayStats:
    """One replay at ``speed`` to a fresh topic, through the product's player and Publisher."""
    return replay_delivered(
        recording,
        KafkaTarget(bootstrap),
        fresh_topic(bootstrap, f"pacing-{speed:g}x"),
        PlayOptions(ReplayPlan(speed=speed)),
    )


def trend_ms_per_100(errors: list[float]) -> float:
    """Least-squares slope of the error over the run, per 100 snapshots: growing lateness shows here."""
    slope, _intercept = statistics.linear_regression(range(len(errors)), errors)
    return 100 * slope


def row(speed: float, period_s: float, stats: PlayStats) -> list[object]:
    errors, summary = stats.pacing_errors_ms, stats.pacing()
    drift = errors[-1] - errors[0]
    trend = trend_ms_per_100(errors)
    verdict = summary["p99_ms"] <= TARGET_P99_MS and drift <= DRIFT_TOLERANCE_MS and abs(trend) <= DRIFT_TOLERANCE_MS
    return [
        f"{speed:g}x", len(errors), f"{period_s:g}", f"{summary['p50_ms']:.2f}", f"{summary['p99_ms']:.2f}",
        f"{summary['max_ms']:.2f}", f"{errors[0]:.2f}", f"{errors[-1]:.2f}", f"{drift:+.2f}", f"{trend:+.3f}",
        f"{stats.wall_s:.1f}", "met" if verdict else "NOT met",
    ]  # fmt: skip


def run(quick: bool, bootstrap: str | None) -> None:
    period_s = 0.5 if quick else 1.0
    rows = []
    with workspace(bootstrap) as (folder, servers):
        for speed in SPEEDS:
            interval = period_s * speed
            say(
                f"pacing: {SNAPSHOTS} snapshots, {interval:g} s apart, at {speed:g}x ({SNAPSHOTS * period_s:.0f} s) ..."
            )
            recording = simulated(
                Path(folder) / f"every-{interval:g}s", snapshots=SNAPSHOTS, interval_s=interval, compression=DELTA
            )
            rows.append(row(speed, period_s, paced(servers, recording, speed)))
    headers = ["speed", "snapshots", "period s", "p50 ms", "p99 ms", "max ms", "first ms", "last ms"]
    headers += ["drift ms", "trend ms/100", "wall s", f"p99<={TARGET_P99_MS:g} ms, no drift"]
    print_table("Pacing error (actual minus scheduled send time, per snapshot)", rows, headers)
    print(f"machine: {machine_load()}")


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
