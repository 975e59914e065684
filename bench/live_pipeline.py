"""The production setup as separate processes, for the latency and soak benchmarks.

``serve`` (a recording as the API) → ``live`` (polls, publishes) → Kafka → ``process`` (the job, running
continuously). Each is the real CLI in its own process, the job with ``--log-format json`` so its
readiness and batches are read from its log. Latency is read from Kafka afterwards, from the broker's
timestamps alone: a snapshot's publish is the last of its station messages on the status topic, its
result the last indicator row for its snapshot_time on the indicators topic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import say
from kafka import KafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from velib_replay.kafka import broker, topics
from velib_replay.kafka.client_config import KafkaTarget


class Command:
    """``velib-replay ARGS`` in a subprocess; its stderr lines are kept (the job's are JSON events)."""

    def __init__(self, *args: str, log: Path):
        self.args = args
        self.log = log.open("w")
        command = [sys.executable, "-m", "velib_replay", *args]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            self.log.write(line)

    def events(self, kind: str) -> list[dict]:
        return [event for line in list(self.lines) if (event := _json(line)) and event.get("event") == kind]

    def wait_for(self, kind: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events(kind)) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{self.args[0]} did not log {count} {kind!r} events:\n{''.join(self.lines[-20:])}")
            time.sleep(0.2)

    def rss_mb(self) -> float:
        """Resident memory of the process and its children (the job's JVM), MB."""
        return sum(_rss_kib(pid) for pid in _tree(self.process.pid)) / 1024

    def stop(self, timeout: float = 120) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        self.log.close()
        return code


def _json(line: str) -> dict | None:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _tree(pid: int) -> Iterator[int]:
    yield pid
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return
    for child in children:
        yield from _tree(int(child))


def _rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


@dataclass(frozen=True)
class Topics:
    status: str
    indicators: str
    quarantine: str

    @classmethod
    def fresh(cls, bootstrap: str, purpose: str) -> Topics:
        suffix = f"{purpose}-{os.urandom(4).hex()}"
        names = cls(f"bench-status-{suffix}", f"bench-indicators-{suffix}", f"bench-quarantine-{suffix}")
        topics.ensure_topics(
            KafkaTarget(bootstrap), topics.pipeline_topics(names.status, names.indicators, names.quarantine)
        )
        return names


def start_job(bootstrap: str, names: Topics, folder: Path, trigger_s: float) -> tuple[Command, str]:
    """``process`` running continuously, and its /metrics URL; returns once its query has started."""
    port = broker.free_port()
    job = Command(
        *("process", "--metrics-port", str(port), "--bootstrap-servers", bootstrap, "--topic", names.status),
        *("--indicators-topic", names.indicators, "--quarantine-topic", names.quarantine),
        *("--checkpoint", str(folder / "checkpoint"), "--trigger-interval", f"{trigger_s:g} seconds"),
        *("--master", "local[2]", "--show", "0", "--log-format", "json"),
        log=folder / "process.log",
    )
    job.wait_for("started", 1, timeout=600)
    return job, f"http://127.0.0.1:{port}/metrics"


def scrape(url: str) -> dict[str, float]:
    """A running command's metrics, unlabelled samples only (name → value)."""
    with urllib.request.urlopen(url, timeout=30) as answer:
        families = text_string_to_metric_families(answer.read().decode())
    return {sample.name: sample.value for family in families for sample in family.samples if not sample.labels}


def start_serve(recording: Path, speed: float, folder: Path, *, loop: bool = False) -> tuple[Command, str]:
    port = broker.free_port()
    args = ["serve", str(recording), "--speed", f"{speed:g}x", "--port", str(port), *(["--loop"] if loop else [])]
    server = Command(*args, "--log-format", "json", log=folder / "serve.log")
    server.wait_for("start", 1, timeout=60)
    return server, f"http://127.0.0.1:{port}/station_status.json"


def start_live(url: str, bootstrap: str, names: Topics, interval: float, folder: Path, count: int | None) -> Command:
    limit = ["--count", str(count)] if count else []
    return Command(
        *("live", "--url", url, "--interval", f"{interval:g}", *limit, "--log-format", "json"),
        *("--bootstrap-servers", bootstrap, "--topic", names.status),
        *("--timestamps", "send"),  # latency is read from broker timestamps: publish time, not the feed's clock
        log=folder / "live.log",
    )


def last_timestamps(bootstrap: str, topic: str, snapshot_of) -> dict[str, int]:
    """snapshot_time → the broker timestamp (ms) of the last record for it on ``topic``."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=3000)
    latest: dict[str, int] = defaultdict(int)
    try:
        for record in consumer:
            snapshot = snapshot_of(record)
            latest[snapshot] = max(latest[snapshot], record.timestamp)
    finally:
        consumer.close()
    return dict(latest)


def published_at(bootstrap: str, names: Topics) -> dict[str, int]:
    return last_timestamps(bootstrap, names.status, lambda record: json.loads(record.value)["snapshot_time"])


def indicated_at(bootstrap: str, names: Topics) -> dict[str, int]:
    return last_timestamps(bootstrap, names.indicators, lambda record: record.key.decode().split("|")[0])


def latencies_s(bootstrap: str, names: Topics, snapshots: set[str], catch_up_s: float) -> tuple[list[float], int]:
    """Publish-to-final-indicator latency of each snapshot in ``snapshots`` (feed times) and how many never
    got indicators within ``catch_up_s`` after the last publish."""
    published = {time: ms for time, ms in published_at(bootstrap, names).items() if time in snapshots}
    deadline = time.monotonic() + catch_up_s
    while True:
        indicated = indicated_at(bootstrap, names)
        missing = [snapshot for snapshot in published if snapshot not in indicated]
        if not missing or time.monotonic() > deadline:
            break
        say(f"  waiting for the job: {len(missing)} snapshot(s) without indicators yet")
        time.sleep(2)
    found = [(indicated[s] - ms) / 1000 for s, ms in sorted(published.items()) if s in indicated]
    return found, len(missing)
