"""Replay throughput at --speed max, against kafka-producer-perf-test on the same broker.

Both tools send the same number of messages of the same sizes (the Java tool draws its
payloads from the very messages the player sends), with the same producer settings
(acks=all, idempotence, the Publisher's linger and batch size), each to a fresh
one-partition topic on one broker. Runs are interleaved and each setting's best run
counts, so a noisy neighbour hurts both sides alike. Target: the player on its default
client (``--client auto``: librdkafka when installed) reaches at least 40 % of the Java
tool's rate; below that, a profile says where the time goes. kafka-python is reported too.

    python bench/throughput.py [--quick]
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import re
import statistics
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from unittest import mock

from harness import Stopwatch, fresh_topic, machine_load, main, print_table, say, workspace
from kafka.record import default_records
from kafka.record import util as kafka_record_util

from velib_replay import config
from velib_replay.contracts.messages import Message
from velib_replay.kafka import jvm
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.kafka_python_publisher import KafkaPythonPublisher
from velib_replay.kafka.publisher import AUTO, open_publisher, resolve_client
from velib_replay.recording import Recording
from velib_replay.replay import pacing
from velib_replay.replay.pacing import Slot
from velib_replay.replay.player import PlayStats, play, slot_messages

PERF_TOOL = "org.apache.kafka.tools.ProducerPerformance"  # the class behind kafka-producer-perf-test
TARGET = 0.40
# producer settings the Java tool copies from the Publisher (kafka-python names; Java's use dots)
SHARED_SETTINGS = ("acks", "enable_idempotence", "linger_ms", "batch_size", "max_in_flight_requests_per_connection")
_JAVA_RESULT = re.compile(r"(\d+) records sent, ([\d.]+) records/sec")


@dataclass
class Rate:
    """One run: how many messages and bytes in how long."""

    messages: int
    bytes: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.bytes / self.seconds / 1e6


@dataclass
class Workload:
    """The replay to send: slots for the player, and the same messages as a payload file for the Java tool."""

    slots: list[Slot]
    payload_file: Path
    messages: int
    mean_size: float


def workload(folder: Path, passes: int) -> Workload:
    """The bundled sample looped ``passes`` times: real bodies, ~16,400 messages a pass."""
    slots = list(pacing.schedule(list(Recording(config.sample_recording()).snapshots()), passes=passes))
    first_pass = [message.value for slot in slots[: len(slots) // passes] for message in _messages(slot)]
    payload_file = folder / "payloads.txt"
    payload_file.write_bytes(b"\n".join(first_pass))  # JSON values hold no newline: one payload a line
    total = sum(len(slot.snapshot.stations) for slot in slots)
    return Workload(slots, payload_file, total, statistics.mean(len(value) for value in first_pass))


def _messages(slot: Slot) -> list[Message]:
    return list(slot_messages(slot.snapshot, slot.snapshot_time, None))


def java_settings(bootstrap: str) -> list[str]:
    """The Publisher's effective producer settings, as Java properties, so both tools batch and ack alike."""
    with KafkaPythonPublisher(KafkaTarget(bootstrap), fresh_topic(bootstrap, "settings")) as publisher:
        effective = publisher._producer.config  # what kafka-python runs with, after its own defaults
    return [f"{name.replace('_', '.')}={str(effective[name]).lower()}" for name in SHARED_SETTINGS]


def run_java(bootstrap: str, work: Workload, settings: list[str]) -> Rate:
    """kafka-producer-perf-test from the project's own Kafka jars; its rate excludes the JVM's start."""
    command = [
        jvm.require_java(), "-Xmx512m", "-cp", jvm.classpath("broker"), PERF_TOOL,
        "--topic", fresh_topic(bootstrap, "java"), "--num-records", str(work.messages), "--throughput", "-1",
        "--payload-file", str(work.payload_file), "--producer-props", f"bootstrap.servers={bootstrap}", *settings,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    found = _JAVA_RESULT.findall(result.stdout)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"{PERF_TOOL} failed: {(result.stderr or result.stdout)[-500:]}")
    sent, rate = int(found[-1][0]), float(found[-1][1])
    return Rate(sent, round(sent * work.mean_size), sent / rate)


def run_player(bootstrap: str, work: Workload, client: str, *, pure_python_crc: bool = False) -> Rate:
    """The product's replay path: player.play at speed max through the publisher of ``client``."""
    with (
        _crc32c(pure_python_crc),
        open_publisher(KafkaTarget(bootstrap), fresh_topic(bootstrap, "player"), client=client) as publisher,
    ):
        return _checked(play(work.slots, publisher, speed=None))


def crc32c_in_c() -> bool:
    """Whether kafka-python checksums record batches in C (the optional ``crc32c`` package) or in pure Python."""
    return kafka_record_util.crc32c_c is not None


@contextlib.contextmanager
def _crc32c(pure_python: bool) -> Iterator[None]:
    """Force kafka-python's pure-Python CRC32C (what it uses without ``crc32c``), to show what that costs."""
    if not pure_python:
        yield
        return
    with mock.patch.object(default_records, "calc_crc32c", kafka_record_util.crc32c_py):
        yield


def crc32c_seconds(work: Workload) -> float:
    """Time kafka-python's pure-Python CRC32C takes over this workload's bytes, batch-sized chunk by chunk."""
    chunk = b"\n".join(message.value for message in _messages(work.slots[0]))[: 256 * 1024]
    with Stopwatch().running() as watch:
        kafka_record_util.crc32c_py(memoryview(chunk))
    return watch.seconds * work.messages * work.mean_size / len(chunk)


def _checked(stats: PlayStats) -> Rate:
    if stats.undelivered:
        raise RuntimeError(f"{stats.undelivered} of {stats.messages} messages undelivered: {stats.first_error}")
    return Rate(stats.messages, stats.bytes, stats.wall_s)


# ---------------------------------------------------------------- where the player's time goes
AREAS = (  # first match wins: (area, fragments of the path or of the function's name)
    ("kafka-python: record accumulator and batch building", ("kafka/producer/record_accumulator", "kafka/record/")),
    ("kafka-python: KafkaProducer.send, partitioner, futures", ("packages/kafka/",)),
    ("librdkafka: produce, poll (C)", ("cimpl.",)),
    ("message building (stations located in the body, snapshot_time spliced)", ("/json/", "contracts/messages",
                                                                               "contracts/station_bytes", "scan_once")),
    ("velib-replay player and publisher", ("velib_replay/",)),
)  # fmt: skip


def profile_player(bootstrap: str, work: Workload, passes: int) -> pstats.Stats:
    """cProfile of one pass of the default player (the main thread only: client threads show as lock waits)."""
    one_pass = work.slots[: len(work.slots) // passes]
    profiler = cProfile.Profile()
    with open_publisher(KafkaTarget(bootstrap), fresh_topic(bootstrap, "profile")) as publisher:
        profiler.enable()
        play(one_pass, publisher, speed=None)
        profiler.disable()
    return pstats.Stats(profiler)


def profile_tables(stats: pstats.Stats, top: int = 10) -> None:
    entries = stats.stats  # (file, line, function) -> (primitive calls, calls, own time, cumulative, callers)
    total = sum(entry[2] for entry in entries.values())
    by_area: dict[str, float] = defaultdict(float)
    for (path, _line, name), entry in entries.items():
        where = f"{path} {name}"
        by_area[next((area for area, parts in AREAS if any(p in where for p in parts)), "other")] += entry[2]
    ranked = sorted(by_area.items(), key=itemgetter(1), reverse=True)
    rows = [[area, f"{own:.2f}", f"{100 * own / total:.0f} %"] for area, own in ranked]
    print_table("Player profile by area (own time, main thread)", rows, ["area", "seconds", "share"])
    heaviest = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    rows = [[_label(key), entry[1], f"{entry[2]:.2f}", f"{100 * entry[2] / total:.0f} %"] for key, entry in heaviest]
    print_table(f"Top {top} functions by own time", rows, ["function", "calls", "seconds", "share"])


def _label(key: tuple[str, int, str]) -> str:
    """``kafka/producer/kafka.py:864 send``: paths from the package down, built-ins by name."""
    path, line, name = key
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "velib_replay/" in path:
        path = "velib_replay/" + path.split("velib_replay/", 1)[1]
    else:
        path = "/".join(Path(path).parts[-2:])
    return f"{path}:{line} {name}" if line else name


# ---------------------------------------------------------------- the benchmark
JAVA = "kafka-producer-perf-test (Java)"
DEFAULT = f"player, --client {AUTO} ({resolve_client(AUTO)})"
PLAYER = "player, --client kafka-python"
PURE_CRC = "player, --client kafka-python, pure-Python CRC32C"
SHARED = "shared settings"


@dataclass(frozen=True)
class Contender:
    producer: str
    settings: str
    measure: Callable[[], Rate | None]


def contenders(bootstrap: str, work: Workload, settings: list[str]) -> list[Contender]:
    """The Java reference, the player as shipped (its default client), and kafka-python alone."""
    players = [Contender(DEFAULT, SHARED, lambda: run_player(bootstrap, work, AUTO))]
    if resolve_client(AUTO) != "kafka-python":
        players.append(Contender(PLAYER, SHARED, lambda: run_player(bootstrap, work, "kafka-python")))
    if crc32c_in_c():
        pure = Contender(PURE_CRC, SHARED, lambda: run_player(bootstrap, work, "kafka-python", pure_python_crc=True))
        players.append(pure)
    return [Contender(JAVA, SHARED, lambda: run_java(bootstrap, work, settings)), *players]


def measure(runners: list[Contender], rounds: int) -> dict[tuple[str, str], Rate]:
    """Every contender, interleaved for ``rounds`` rounds; the best run of each (skipped when unavailable)."""
    best: dict[tuple[str, str], Rate] = {}
    for _ in range(rounds):
        for contender in runners:
            say(f"  {contender.producer} | {contender.settings} ...")
            rate = contender.measure()
            key = (contender.producer, contender.settings)
            if rate is not None and (key not in best or rate.per_second > best[key].per_second):
                best[key] = rate
    return best


def print_results(best: dict[tuple[str, str], Rate]) -> float:
    """The table; returns the shipped player's share of the Java tool's rate."""
    java = best[(JAVA, SHARED)]
    rows = [
        [producer, settings, rate.messages, f"{rate.seconds:.1f}", f"{rate.per_second:,.0f}",
         f"{rate.mb_per_second:.2f}", f"{100 * rate.per_second / java.per_second:.1f} %"]
        for (producer, settings), rate in best.items()
    ]  # fmt: skip
    headers = ["producer", "settings", "messages", "seconds", "msgs/s", "MB/s", "vs Java"]
    print_table("Replay throughput at --speed max (best run of each)", rows, headers)
    ratio = best[(DEFAULT, SHARED)].per_second / java.per_second
    verdict = "met" if ratio >= TARGET else "NOT met"
    crc = "C (crc32c package)" if crc32c_in_c() else "pure Python (the crc32c package is not installed)"
    print(f"\nplayer / Java = {100 * ratio:.1f} % (target >= {100 * TARGET:.0f} %): {verdict}")
    print(f"kafka-python checksums record batches (CRC32C) in {crc}")
    return ratio


def print_findings(best: dict[tuple[str, str], Rate], work: Workload) -> None:
    """What the numbers say about kafka-python's costs, which the default client does not pay."""
    java, crc_s = best[(JAVA, SHARED)], crc32c_seconds(work)
    megabytes = work.messages * work.mean_size / 1e6
    lines = [
        "- CRC32C: kafka-python checksums every record batch on its sender thread, which holds the GIL; in pure",
        f"  Python (its fallback without the crc32c package) that takes {crc_s:.1f} s for these {megabytes:.0f} MB.",
        "- kafka-python runs Python code per record (send, partitioner, future, accumulator); librdkafka runs C.",
    ]
    for producer in (PLAYER, PURE_CRC):
        if (producer, SHARED) in best:
            rate = best[(producer, SHARED)].per_second
            lines.append(f"- {producer}: {rate:,.0f} msgs/s ({100 * rate / java.per_second:.0f} % of Java)")
    print("\nFindings:\n" + "\n".join(lines))


def run(quick: bool, bootstrap: str | None) -> None:
    passes, rounds = (6, 1) if quick else (24, 2)
    with workspace(bootstrap) as (folder, servers):
        work = workload(folder, passes)
        settings = java_settings(servers)
        say(f"throughput: {work.messages} messages of {work.mean_size:.0f} B on average, {rounds} round(s)")
        print(f"shared producer settings: {' '.join(settings)}")
        best = measure(contenders(servers, work, settings), rounds)
        print(f"machine: {machine_load()}")
        if print_results(best) < TARGET:
            profile_tables(profile_player(servers, work, passes))
        print_findings(best, work)


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
