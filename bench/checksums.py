"""What checking every body against its meta file's sha256 costs on read, on a simulated full-network day.

Every reader (play and its --dry-run check, serve, convert, report, info) gets bodies through
``Recording.body``, which now hashes each decoded body (v2: the snapshot rebuilt from its deltas) and
compares it with the meta file's sha256. The same recording is read with the check and without it (the
polls' sha256 cleared in memory, which skips the comparison), interleaved, best of 3 each, on three paths:
bodies alone (decompression, serve's and convert's work), ``play``'s check (read and parse every
snapshot, as ``play --dry-run`` does, and ``play`` before sending) and ``play`` itself (its check, then
every snapshot read again and sent to an embedded broker at --speed max, each to a fresh topic).
Target: at most 5 % on the full day's ``play``. 1,440 polls x ~1,500 stations, v1 gzip and v2 zstd-delta;
--quick: 180 polls from 07:00 local.

    python bench/checksums.py [--quick] [--bootstrap-servers HOST:PORT]
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from harness import fresh_topic, machine_load, main, print_table, say, simulated, workspace

from velib_replay import config
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import DELTA, Recording
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import check_snapshots, replay_delivered
from velib_replay.simulate.day import local_midnight

RUNS = 3


def unchecked(path: Path) -> Recording:
    """The recording read as before the check: no sha256 to compare with (in memory only); needs no broker."""
    recording = Recording(path)
    recording._polls = [dataclasses.replace(poll, sha256=None) for poll in recording.polls()]
    return recording


def bodies(recording: Recording) -> None:
    for poll in recording.polls():
        if not poll.is_gap:
            recording.body(poll)


def plays_check(recording: Recording) -> None:
    check_snapshots(list(recording.snapshots()), None)


def plays(bootstrap: str) -> Callable[[Recording], None]:
    """``play --speed max``: its check, then the replay (each snapshot read again) to a fresh topic."""

    def replay(recording: Recording) -> None:
        plays_check(recording)
        options = PlayOptions(ReplayPlan(speed=None))
        replay_delivered(recording, KafkaTarget(bootstrap), fresh_topic(bootstrap, "checksums"), options)

    return replay


def timed(read: Callable[[Recording], None], open_recording: Callable[[], Recording]) -> float:
    recording = open_recording()
    recording.polls()  # loading the index is the same either way: not timed
    started = time.perf_counter()
    read(recording)
    return time.perf_counter() - started


def run(quick: bool, bootstrap: str | None) -> None:
    snapshots = 180 if quick else 1440
    start = local_midnight(Recording(config.sample_recording()).polls()[0].snapshot_time)
    start += timedelta(hours=7 if quick else 0)
    rows = []
    with workspace(bootstrap) as (folder, bootstrap):
        paths = (("bodies alone", bodies), ("play's check (read + parse)", plays_check), ("play", plays(bootstrap)))
        for compression in ("gzip", DELTA):
            path = folder / compression
            say(f"checksums: simulating {snapshots} polls ({compression}) ...")
            simulated(path, snapshots=snapshots, start=start, compression=compression)
            for name, read in paths:
                times = {"checked": [], "unchecked": []}
                for _ in range(RUNS):
                    times["unchecked"].append(timed(read, lambda p=path: unchecked(p)))
                    times["checked"].append(timed(read, lambda p=path: Recording(p)))
                on, off = min(times["checked"]), min(times["unchecked"])
                rows.append([compression, name, f"{off:.2f}", f"{on:.2f}", f"{(on / off - 1) * 100:+.1f} %"])
                say(f"  {compression} {name}: {off:.2f} s unchecked, {on:.2f} s checked")
    print_table(
        f"sha256 check on read, {snapshots} polls, best of {RUNS} ({machine_load()})",
        rows,
        ["codec", "path", "unchecked s", "checked s", "cost"],
    )


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
