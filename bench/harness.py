"""What every benchmark shares: a broker of its own, fresh topics, synthetic recordings, tables.

The machine is shared and noisy, so a benchmark never judges an absolute time: it
compares with a reference measured in the same invocation, on the same broker.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from velib_replay import config
from velib_replay.cli import tables as report
from velib_replay.kafka import broker, topics
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.simulate.day import first_status_body, simulate_day


@contextlib.contextmanager
def embedded_broker(folder: Path) -> Iterator[str]:
    """A single-node KRaft broker on free ports in ``folder``, stopped on the way out; yields its bootstrap."""
    instance = broker.on_free_ports(folder / "kafka")
    broker.start(instance, timeout=180)
    try:
        yield instance.bootstrap_servers
    finally:
        broker.stop(instance)


@contextlib.contextmanager
def workspace(bootstrap: str | None) -> Iterator[tuple[Path, str]]:
    """A temporary folder and a broker: the given one, or an embedded one started in that folder."""
    with tempfile.TemporaryDirectory(prefix="velib-bench-") as folder:
        if bootstrap:
            yield Path(folder), bootstrap
            return
        with embedded_broker(Path(folder)) as started:
            yield Path(folder), started


def fresh_topic(bootstrap: str, purpose: str) -> str:
    """A new one-partition topic (the product's default), so runs never share data."""
    name = f"bench-{purpose}-{uuid.uuid4().hex[:8]}"
    topics.ensure_topics(KafkaTarget(bootstrap), [topics.status_topic(name)])
    return name


def simulated(folder: Path, *, seed: int = 1, **plan) -> Recording:
    """A synthetic recording made from the sample's real snapshot (see ``velib-replay simulate``)."""
    simulate_day(first_status_body(config.sample_recording()), folder, seed=seed, **plan)
    return Recording(folder)


@dataclass
class Stopwatch:
    """Wall time of one stage (monotonic clock)."""

    seconds: float = 0.0

    @contextlib.contextmanager
    def running(self) -> Iterator[Stopwatch]:
        started = time.monotonic()
        try:
            yield self
        finally:
            self.seconds = time.monotonic() - started


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(title: str, rows: Sequence[Sequence[object]], headers: Sequence[str]) -> None:
    print(f"\n{title}\n{report.table(rows, headers)}", flush=True)


def machine_load() -> str:
    """How busy the (shared) machine was, printed with each result so a bad run can be told from a slow one."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (1 min) {five:.1f} (5 min)"


def say(text: str) -> None:
    """Progress on stderr, so the tables on stdout stay clean."""
    print(text, file=sys.stderr, flush=True)


def main(run: Callable[..., None], description: str, **flags: str) -> None:
    """The command line every benchmark shares: ``--quick`` and ``--bootstrap-servers``; ``flags`` adds
    on/off options (name → help), passed to ``run`` as keyword arguments."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smaller run (minutes, not tens of minutes)")
    parser.add_argument(
        "--bootstrap-servers",
        default=None,
        help="use this broker instead of starting an embedded one (the Java reference runs against it too)",
    )
    for name, text in flags.items():
        parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=text)
    arguments = parser.parse_args()
    run(arguments.quick, arguments.bootstrap_servers, **{name: getattr(arguments, name) for name in flags})
