"""Bounded memory at scale: a simulated week and a network ten times Vélib's, played and processed.

Workloads (``velib-replay simulate``, stored as ``record`` stores them, format v2):
a day (1,440 polls x ~1,500 stations, the reference), a week (7 x 1,440 polls), and
ten times the network (1,440 polls x 15,000 stations). Each is played at --speed max
(``velib-replay play``) and processed once (``process --once``), each in a process of
its own whose peak RSS is sampled over its whole process tree (the job's JVM included).
Play's RSS must not grow with the recording's length: the week's is compared with the
day's. --quick: 1/24 of each (60 and 420 polls, 60 polls of 15,000 stations).

    python bench/workloads.py [--quick] [--ten-times-only]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness import fresh_topic, machine_load, main, print_table, say, simulated, workspace

from velib_replay.recording import DELTA

TEN_TIMES = "10x network"
WORKLOADS = {"day": (1440, None), "week": (7 * 1440, None), TEN_TIMES: (1440, 15_000)}  # polls, stations
HEADERS = ["workload", "polls", "stations", "messages", "simulate s", "play s", "play peak RSS MB"]
HEADERS += ["job s", "job peak RSS MB (JVM incl.)", "state rows", "indicator rows"]
GROWTH_TOLERANCE = 1.25  # the week's play may use this much of the day's peak RSS (noise, larger index)
JOB = """
import json, sys
from dataclasses import asdict
from pathlib import Path
from velib_replay.job.config import JobConfig
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.job.runner import run_once
settings = json.loads(sys.argv[1])
settings |= {"checkpoint": Path(settings["checkpoint"]), "kafka": KafkaTarget(settings["kafka"])}
print(json.dumps(asdict(run_once(JobConfig(**settings)))))
"""


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (a job's JVM is its grandchild)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        pending += [int(child) for child in children]
    return total


@dataclass
class Stage:
    seconds: float
    peak_rss_mb: float
    output: str


def measured(command: list[str]) -> Stage:
    """Run a command, sampling its process tree's RSS every 0.2 s; its wall time, peak and stdout."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ | {"PYTHONPATH": _root()})
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], tree_rss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode:
        raise RuntimeError(f"{command[:4]} failed with exit {process.returncode}")
    return Stage(time.monotonic() - started, peak[0] / 1024, output)


def _root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def workload(folder: Path, servers: str, name: str, polls: int, stations: int | None) -> list[object]:
    say(f"workloads: {name}: simulating {polls} polls ...")
    started = time.monotonic()
    recording = simulated(folder / name.replace(" ", "-"), snapshots=polls, stations=stations, compression=DELTA)
    simulate_s = time.monotonic() - started
    topic = fresh_topic(servers, "workload")
    say(f"workloads: {name}: play, then process --once ...")
    play = measured([sys.executable, "-m", "velib_replay", "play", str(recording.path), "--speed", "max", "--quiet",
                     "--bootstrap-servers", servers, "--topic", topic])  # fmt: skip
    cfg = {"kafka": servers, "status_topic": topic, "indicators_topic": f"{topic}-indicators",
           "quarantine_topic": f"{topic}-quarantine", "checkpoint": str(folder / f"{topic}-checkpoint"),
           "show_rows": 0}  # fmt: skip
    job = measured([sys.executable, "-c", JOB, json.dumps(cfg)])
    summary = json.loads(job.output.strip().splitlines()[-1])
    stations_per_poll = summary["input_rows"] // polls
    row = [
        name, polls, f"{stations_per_poll:,}", f"{summary['input_rows']:,}", f"{simulate_s:.0f}",
        f"{play.seconds:.0f}", f"{play.peak_rss_mb:.0f}", f"{job.seconds:.0f}", f"{job.peak_rss_mb:.0f}",
        f"{summary['state_rows']:,}", f"{summary['indicator_rows']:,}",
    ]  # fmt: skip
    say(f"workloads: {name}: " + ", ".join(f"{header} {value}" for header, value in zip(HEADERS, row, strict=True)))
    return row  # each reported as it ends: the whole run takes an hour or more


def run(quick: bool, bootstrap: str | None, ten_times_only: bool = False) -> None:
    chosen = {name: plan for name, plan in WORKLOADS.items() if name == TEN_TIMES or not ten_times_only}
    rows = []
    with workspace(bootstrap) as (folder, servers):
        for name, (polls, stations) in chosen.items():
            rows.append(workload(folder, servers, name, polls // 24 if quick else polls, stations))
    print_table("Workloads: wall time per stage and peak memory", rows, HEADERS)
    if not ten_times_only:
        day, week = float(rows[0][6]), float(rows[1][6])
        verdict = "flat" if week <= day * GROWTH_TOLERANCE else "GROWS with the recording"
        print(f"play's peak RSS, week vs day: {week:.0f} MB vs {day:.0f} MB: {verdict}")
    print(f"machine: {machine_load()}")


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0], ten_times_only="only the ten-times network (the longest; about 45 minutes)")
