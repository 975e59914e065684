"""Bytes per day of recording format v2 (zstd deltas) against v1 (one zstd or gzip file per body).

The realistic series is ``velib-replay simulate --every-station-reports``: a day of
1,440 polls a minute apart in which every station's last_reported advances at each
poll, as in the real feed, and counts change as trips do (about 10 % of stations a
minute on average). It is written through the product's writer with the default codec
(``record``'s): that recording's size is the headline. Its bodies are then read back in
order (the player's path, timed) and a sample of consecutive pairs is re-encoded at
several levels, which gives the table over levels and keyframe intervals:
bytes a day = 1440 * ((N-1) * delta + keyframe) / N. --quick: 3 hours from 07:00 local.

    python bench/storage.py [--quick]
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from harness import machine_load, main, print_table, say

from velib_replay import config
from velib_replay.recording import DELTA, KEYFRAME_EVERY, Recording
from velib_replay.recording.codec import DELTA_LEVEL, compress, compress_delta
from velib_replay.simulate.day import DayPattern, first_status_body, local_midnight, simulate_day

POLLS_A_DAY = 1440
TARGET_MB = 10.0
LEVELS = (3, 9, 16, 19)
KEYFRAME_INTERVALS = (30, 60, 240, 1440)
PAIRS = {3: 40, 9: 40, 16: 8, 19: 8}  # pairs re-encoded per level (16 and up take most of a second a body)


def timed(encode: Callable[[], bytes]) -> tuple[int, float]:
    """(bytes, ms) of one encoding."""
    started = time.perf_counter()
    size = len(encode())
    return size, (time.perf_counter() - started) * 1000


def realistic(folder: Path, quick: bool) -> tuple[Recording, float]:
    """The realistic series written with record's default codec; and the writer's seconds per poll."""
    base = first_status_body(config.sample_recording())
    snapshots = 180 if quick else POLLS_A_DAY
    start = local_midnight(Recording(config.sample_recording()).polls()[0].snapshot_time)
    start += timedelta(hours=7 if quick else 0)
    say(f"storage: simulating {snapshots} realistic polls with {DELTA} ...")
    started = time.monotonic()
    simulate_day(
        base, folder, seed=1, snapshots=snapshots, start=start, compression=DELTA,
        pattern=DayPattern(every_station_reports=True),
    )  # fmt: skip
    return Recording(folder), (time.monotonic() - started) / snapshots


def sampled_pairs(recording: Recording, wanted: int) -> tuple[list[tuple[bytes, bytes]], float]:
    """``wanted`` (previous, current) body pairs spread over the recording, read in order as the player
    reads (holding one body at a time, not the day); and the ms per body of that read."""
    snapshots = list(recording.snapshots())
    step, pairs, previous = max(1, len(snapshots) // wanted), [], b""
    started = time.perf_counter()
    for index, snapshot in enumerate(snapshots):
        body = recording.body(snapshot.poll)
        if index % step == 0 and index:
            pairs.append((previous, body))
        previous = body
    return pairs, (time.perf_counter() - started) * 1000 / len(snapshots)


def per_day(delta: float, keyframe: float, every: int) -> float:
    return POLLS_A_DAY * ((every - 1) * delta + keyframe) / every


def run(quick: bool, _bootstrap: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="velib-bench-storage-") as folder:
        recording, write_s = realistic(Path(folder) / "day", quick)
        polls = recording.polls()
        stored = statistics.fmean(poll.stored_size for poll in polls)
        raw = statistics.fmean(poll.size for poll in polls)
        pairs, read_ms = sampled_pairs(recording, max(PAIRS.values()))
    say(f"storage: re-encoding {len(pairs)} pairs at levels {LEVELS} ...")
    v1 = {name: [timed(lambda b=b, n=name: compress(b, n)) for _, b in pairs[:8]] for name in ("zstd", "gzip")}
    keyframe = statistics.fmean(size for size, _ms in v1["zstd"])
    rows = []
    for name, results in v1.items():
        size, ms = statistics.fmean(s for s, _ in results), statistics.fmean(m for _, m in results)
        rows.append(
            [f"v1 {name}", "-", "every poll", f"{size / 1e3:.1f}", f"{POLLS_A_DAY * size / 1e6:.1f}", f"{ms:.1f}"]
        )
    for level in LEVELS:
        results = [timed(lambda p=p, c=c, lv=level: compress_delta(c, p, lv)) for p, c in pairs[: PAIRS[level]]]
        delta, ms = statistics.fmean(s for s, _ in results), statistics.fmean(m for _, m in results)
        for every in KEYFRAME_INTERVALS:
            mark = " (default)" if (level, every) == (DELTA_LEVEL, KEYFRAME_EVERY) else ""
            day_mb = per_day(delta, keyframe, every) / 1e6
            rows.append([f"v2 {DELTA}{mark}", level, every, f"{delta / 1e3:.1f}", f"{day_mb:.1f}", f"{ms:.1f}"])
    headers = ["codec", "level", "keyframe every", "KB a poll (delta)", "MB a day", "ms a body (write)"]
    print_table(f"Storage of the realistic series ({raw / 1e3:.0f} KB a poll raw)", rows, headers)
    day_mb = POLLS_A_DAY * stored / 1e6
    verdict = "met" if day_mb <= TARGET_MB else "NOT met"
    print(
        f"\nwritten through record's default ({DELTA}, level {DELTA_LEVEL}, keyframe every {KEYFRAME_EVERY}):"
        f" {stored / 1e3:.1f} KB a poll, {day_mb:.1f} MB a day (target <= {TARGET_MB:g} MB: {verdict});"
        f" simulate + write {write_s * 1000:.0f} ms a poll; read back in order {read_ms:.1f} ms a body"
    )
    print(f"machine: {machine_load()}")


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
