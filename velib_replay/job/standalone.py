"""A Spark standalone cluster on loopback (a master and N workers), from pyspark's own ``bin/spark-class``.

What the spark-submit test and the cluster benchmark run the job on: free ports, its own folders,
every process stopped at the end, so nothing outside pyspark and a JDK is needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from velib_replay.errors import UserError
from velib_replay.kafka import jvm
from velib_replay.kafka.broker import HOST, free_port

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
DAEMON_MEMORY = "256m"  # the master's and workers' own heaps; executors get --executor-memory


def spark_home() -> Path:
    """pyspark's folder: a Spark distribution's bin/ and jars/, as ``spark-class`` expects SPARK_HOME."""
    return jvm.pyspark_jars_dir().parent


@dataclass
class StandaloneCluster:
    """A running cluster: its master URL, its web UI (which counts the workers alive) and its processes."""

    master_url: str
    web_url: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    def alive_workers(self) -> int:
        try:
            with urllib.request.urlopen(f"{self.web_url}/json/", timeout=2) as answer:
                return int(json.load(answer).get("aliveworkers", 0))
        except (OSError, ValueError):
            return 0


def _daemon(main_class: str, args: list[str], folder: Path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOG_DIR": str(folder),
    }
    command = [str(spark_home() / "bin" / "spark-class"), main_class, *args]
    with open(folder / f"{name}.log", "ab") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )


@contextlib.contextmanager
def standalone_cluster(
    folder: Path, *, workers: int = 2, cores: int = 1, memory: str = "1g", timeout: float = 120.0
) -> Iterator[StandaloneCluster]:
    """A master and ``workers`` workers of ``cores`` cores and ``memory`` each, ready when yielded, then stopped."""
    jvm.require_java()
    folder.mkdir(parents=True, exist_ok=True)
    port, web_port = free_port(), free_port()
    cluster = StandaloneCluster(f"spark://{HOST}:{port}", f"http://{HOST}:{web_port}")
    try:
        master_args = ["--host", HOST, "--port", str(port), "--webui-port", str(web_port)]
        cluster.processes.append(_daemon(MASTER_CLASS, master_args, folder, "master"))
        for number in range(workers):
            work_dir = folder / f"worker-{number}"
            work_dir.mkdir(exist_ok=True)
            worker_args = [
                "--host", HOST, "--port", str(free_port()), "--webui-port", str(free_port()),
                "--cores", str(cores), "--memory", memory, "--work-dir", str(work_dir), cluster.master_url,
            ]  # fmt: skip
            cluster.processes.append(_daemon(WORKER_CLASS, worker_args, folder, f"worker-{number}"))
        _wait_for_workers(cluster, workers, timeout, folder)
        yield cluster
    finally:
        _stop(cluster.processes)


def _wait_for_workers(cluster: StandaloneCluster, workers: int, timeout: float, folder: Path) -> None:
    deadline = time.monotonic() + timeout
    while cluster.alive_workers() < workers:
        if any(process.poll() is not None for process in cluster.processes):
            raise UserError(f"a Spark daemon of the standalone cluster exited during start-up; see {folder}")
        if time.monotonic() > deadline:
            raise UserError(f"the standalone cluster had not {workers} workers after {timeout:.0f} s; see {folder}")
        time.sleep(0.5)


def _stop(processes: list[subprocess.Popen], wait_s: float = 20.0) -> None:
    """SIGTERM to each daemon's process group (spark-class execs java in it), SIGKILL to the stragglers."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signum)
        deadline = time.monotonic() + wait_s
        while any(process.poll() is None for process in processes) and time.monotonic() < deadline:
            time.sleep(0.2)
