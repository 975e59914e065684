"""Soak: the live pipeline for a long while at 60x, watching memory, checkpoint, state and losses.

``serve --loop --speed 60x`` replays a simulated day (one snapshot a minute, so one a second) to ``live``
polling every second, and ``process`` runs continuously (trigger 5 s). Every ``--every`` seconds it
samples each process's RSS (the job's JVM included), the checkpoint folder's size and the job's state
rows (from its JSON batch events). At the end ``live`` is stopped, the job catches up, and the
accounting is checked: every message ``live`` says it published is on the topic and was read by the
job, and every published snapshot has indicator rows. Not part of CI: ``--minutes 30`` or more by hand.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from harness import machine_load, print_table, say, simulated, workspace
from live_pipeline import Command, Topics, indicated_at, published_at, scrape, start_job, start_live, start_serve

from velib_replay.job.config import QUERY_NAME

SPEED = 60.0
TRIGGER_S = 5.0
CATCH_UP_S = 600.0  # after live stops, how long the job may take to process what is left
WATERMARK_S = 2 * 3600  # the job's default: state older than this, in feed time, is dropped


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def job_gauges(url: str) -> list[object]:
    """State rows and input lag, from the running job's own /metrics."""
    seen = scrape(url)
    return [int(seen.get("velib_replay_job_state_rows", 0)), int(seen.get("velib_replay_job_input_lag_messages", -1))]


def input_rows(job: Command) -> int:
    batches = [event for event in job.events("batch") if event.get("query") == QUERY_NAME]
    return batches[-1]["input_rows"] if batches else 0


def run(minutes: float, every: float, stations: int | None, bootstrap: str | None) -> None:
    snapshots = int(minutes * 60 + 120)  # never loops within the run, so every feed time is new
    samples: list[list[object]] = []
    with workspace(bootstrap) as (folder, servers):
        say(f"simulating {snapshots} snapshots")
        recording = simulated(folder / "recording", snapshots=snapshots, interval_s=60.0, stations=stations)
        names = Topics.fresh(servers, "soak")
        job, metrics_url = start_job(servers, names, folder, TRIGGER_S)
        server, url = start_serve(recording.path, SPEED, folder, loop=True)
        live = start_live(url, servers, names, 1.0, folder, count=None)
        started = time.monotonic()
        try:
            while (elapsed := time.monotonic() - started) < minutes * 60:
                samples.append(
                    [
                        f"{elapsed / 60:.1f}",
                        f"{elapsed * SPEED / 3600:.1f}",
                        f"{server.rss_mb():.0f}",
                        f"{live.rss_mb():.0f}",
                        f"{job.rss_mb():.0f}",
                        f"{folder_mb(folder / 'checkpoint'):.1f}",
                        *job_gauges(metrics_url),
                    ]
                )
                say("  " + " | ".join(map(str, samples[-1])))
                time.sleep(every)
        finally:
            live.stop()
            server.stop()
        summary = (folder / "live.log").read_text()
        deadline = time.monotonic() + CATCH_UP_S
        while (behind := job_gauges(metrics_url)[1]) != 0 and time.monotonic() < deadline:
            say(f"  the job is {behind} messages behind; waiting")
            time.sleep(TRIGGER_S)
        published, indicated = published_at(servers, names), indicated_at(servers, names)
        job_read = input_rows(job)
        job.stop()
    headers = ["min", "feed h", "serve MB", "live MB", "process MB", "checkpoint MB", "state rows", "lag msgs"]
    print_table(
        f"Soak, {minutes:g} min at {SPEED:g}x (watermark reached after {WATERMARK_S / SPEED / 60:g} min)",
        samples,
        headers,
    )
    sent = re.search(r"published (\d+) snapshots \((\d+) messages\)", summary)
    snapshots_sent, messages_sent = (int(sent.group(1)), int(sent.group(2))) if sent else (0, 0)
    lost = sorted(set(published) - set(indicated))
    print(f"live published {snapshots_sent} snapshots ({messages_sent} messages), {len(published)} on the topic")
    print(f"the job read {job_read} messages; snapshots without indicators: {len(lost)}")
    if behind:
        print(f"the job was still {behind} messages behind after {CATCH_UP_S:g} s: losses cannot be told from lag")
    else:
        whole = not lost and job_read == messages_sent and snapshots_sent == len(published)
        print("nothing lost" if whole else "LOSS")
    print(machine_load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="wall time of the soak (the issue asks ≥ 30)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--stations", type=int, default=None, help="the first N stations (default: all, ~1,500)")
    parser.add_argument("--bootstrap-servers", default=None, help="use this broker instead of an embedded one")
    arguments = parser.parse_args()
    run(arguments.minutes, arguments.every, arguments.stations, arguments.bootstrap_servers)


if __name__ == "__main__":
    main()
