"""The test environment (``velib-replay testenv start|stop|status``): an embedded broker and a warm Spark that
outlive one pytest run, so an edit-test loop stops paying their start-up (~35 s on 2 cores) on every run.

Spark stays warm as a Spark Connect server: a local SparkSession (``spark_session``, the Kafka connector on its
classpath) with Spark Connect's plugin, on a loopback port, guarded by a random token. pytest attaches to it
with a Spark Connect client. Everything lives in one folder: the broker's data folder (``kafka/``), the Spark
server's pid file, token and log. Each part is a detached process, so ``status`` and ``stop`` work from any
shell; ``stop`` signals only processes whose command line names this folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from velib_replay import config
from velib_replay.errors import UserError
from velib_replay.job.pipeline import fresh_topics
from velib_replay.kafka import broker
from velib_replay.kafka.broker import Broker
from velib_replay.kafka.client_config import KafkaTarget

CORES = 2  # the test machines: a few cores, shared
SPARK_MASTER = f"local[{CORES}]"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
SERVER_MODULE = "velib_replay.testing.testenv"
CONNECT_HOST = "localhost"  # the client sends its token over loopback only for "localhost" (no TLS needed)
CLIENT_EXTRA = "velib-replay[testenv]"


def default_dir() -> Path:
    """``VELIB_REPLAY_TESTENV_DIR``, else ``testenv/`` in the cache folder (velib-replay's checkout when installed
    from one, else the working directory's ``.cache/``): where ``start`` puts it and where pytest looks."""
    return config.env_path("TESTENV_DIR", config.cache_dir() / "testenv")


@dataclass(frozen=True)
class Part:
    """One running part: what it is, where it listens, its process and the memory its processes hold."""

    name: str
    address: str
    pid: int
    rss_bytes: int


@dataclass(frozen=True)
class TestEnv:
    """A running test environment: what a client needs to attach, and its parts."""

    __test__ = False  # not a pytest test class

    folder: Path
    bootstrap_servers: str
    connect_port: int
    token: str
    parts: tuple[Part, ...]
    workdir: Path  # Spark's server's: where the relative paths of a job resolve

    @property
    def spark_remote(self) -> str:
        """The Spark Connect URL, token included: never print it."""
        return f"sc://{CONNECT_HOST}:{self.connect_port}/;token={self.token}"

    @property
    def spark_address(self) -> str:
        return f"sc://{CONNECT_HOST}:{self.connect_port}"


def kafka_of(folder: Path) -> Broker:
    return Broker(folder / "kafka")


def _pid_file(folder: Path) -> Path:
    return folder / "spark.pid"


def _token_file(folder: Path) -> Path:
    return folder / "spark.token"


def spark_log(folder: Path) -> Path:
    return folder / "spark.log"


def status(folder: Path) -> TestEnv | None:
    """The running test environment in ``folder``, or None unless both parts run and accept connections."""
    kafka = kafka_of(folder)
    kafka_pid, kafka_port = kafka.running_pid(), kafka.running_port()
    spark = _spark_server(folder)
    if kafka_pid is None or kafka_port is None or spark is None:
        return None
    spark_pid, connect_port = spark
    if not (broker.accepts_connections(kafka_port) and broker.accepts_connections(connect_port)):
        return None
    try:
        token = _token_file(folder).read_text().strip()
    except OSError:
        return None
    bootstrap = Broker(kafka.data_dir, kafka_port).bootstrap_servers
    parts = (
        Part("Kafka", bootstrap, kafka_pid, tree_rss(kafka_pid)),
        Part("Spark Connect", f"{CONNECT_HOST}:{connect_port}", spark_pid, tree_rss(spark_pid)),
    )
    return TestEnv(folder, bootstrap, connect_port, token, parts, _workdir(spark_pid))


def _workdir(pid: int) -> Path:
    try:
        return Path(os.readlink(broker.PROC / str(pid) / "cwd"))
    except OSError:
        return Path("?")


def start(folder: Path, timeout: float = START_TIMEOUT_S) -> tuple[bool, TestEnv]:
    """Start what is not running yet (Spark's server and the broker side by side); (started now, the environment).

    Returns once both accept connections; a part that fails is stopped again, with the log that says why.
    """
    running = status(folder)
    if running is not None:
        return False, running
    require_client()
    stop(folder)  # a half-started or crashed one: start both afresh
    folder.mkdir(parents=True, exist_ok=True)
    connect_port = broker.free_port()
    server = _spawn_spark(folder, connect_port)
    try:
        kafka = kafka_of(folder)
        broker.start(Broker(kafka.data_dir, broker.free_port(), broker.free_port()), timeout=timeout)
        _wait_for_spark(folder, server, connect_port, timeout)
    except BaseException:
        stop(folder)
        raise
    running = status(folder)
    if running is None:
        stop(folder)
        raise UserError(f"the test environment in {folder} did not come up; see {spark_log(folder)}")
    try:
        warm_up(running)
    except BaseException:
        stop(folder)
        raise
    return True, running


def warm_up(env: TestEnv) -> None:
    """A small streaming aggregation Kafka to Kafka through Spark Connect, shaped like a test's job (JSON fields,
    a join, a stateful sum, the Kafka sink, availableNow): the server's first one pays class loading, code
    generation and the state store's start (minutes on a busy 2-core machine), so that a test run does not."""
    from pyspark.sql import functions as F

    from velib_replay.job.session import SPARK_ERRORS, spark_error_message

    spark = attach(env)
    target = KafkaTarget(env.bootstrap_servers)  # the environment's own broker: plaintext
    topics = fresh_topics(target)
    kafka = target.spark()
    try:
        fields = F.struct((F.col("id") % 10).cast("string").alias("key"), F.col("id").alias("n"))
        spark.range(1000).select(F.to_json(fields).alias("value")).write.format("kafka").options(**kafka).option(
            "topic", topics.status
        ).save()
        value = F.col("value").cast("string")
        sums = (
            spark.readStream.format("kafka")
            .options(**kafka)
            .option("subscribe", topics.status)
            .option("startingOffsets", "earliest")
            .load()
            .select(
                F.get_json_object(value, "$.key").alias("key"), F.get_json_object(value, "$.n").cast("long").alias("n")
            )
            .join(spark.range(5).select(F.col("id").cast("string").alias("key")), "key")
            .groupBy("key")
            .agg(F.sum("n").alias("n"))
        )
        with tempfile.TemporaryDirectory(prefix="velib-warm-up-") as checkpoint:
            query = (
                sums.select(F.to_json(F.struct("*")).alias("value"))
                .writeStream.format("kafka")
                .options(**kafka)
                .option("topic", topics.create("warm-up"))
                .option("checkpointLocation", checkpoint)
                .outputMode("update")
                .trigger(availableNow=True)
                .start()
            )
            query.awaitTermination()
    except SPARK_ERRORS as error:
        raise UserError(f"warming Spark up failed: {spark_error_message(error)}; see {spark_log(env.folder)}") from None
    finally:
        spark.stop()


def stop(folder: Path, timeout: float = STOP_TIMEOUT_S) -> list[str]:
    """Stop both parts; the names of those that were running. Only this folder's processes are signalled."""
    stopped = []
    spark = _spark_server(folder)
    if spark is not None:
        _stop_process_group(spark[0], folder, timeout)
        stopped.append("Spark Connect")
    for leftover in (_pid_file(folder), _token_file(folder)):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            leftover.unlink()
    kafka = kafka_of(folder)
    kafka.discard_stale_pid_file()
    if broker.stop(kafka, timeout=timeout):
        stopped.append("Kafka")
    return stopped


def require_client() -> None:
    """Spark Connect's client needs extra packages (pandas, pyarrow, grpcio): say which, not an ImportError."""
    try:
        import pyspark.sql.connect.session  # noqa: F401
    except ImportError as error:
        # pyspark's own import check raises with no module name, its message names the package
        missing = error.name or str(error).strip().replace("\n", " ")
        raise UserError(f"the test environment's Spark client needs {missing}: pip install '{CLIENT_EXTRA}'") from None


def attach(env: TestEnv):
    """A Spark Connect session of the environment's server: its own SQL settings and temporary views."""
    require_client()
    from pyspark.sql import SparkSession

    from velib_replay.job.session import SPARK_ERRORS, spark_error_message

    try:
        return SparkSession.builder.remote(env.spark_remote).create()
    except SPARK_ERRORS as error:
        raise UserError(f"cannot attach to Spark at {env.spark_address}: {spark_error_message(error)}") from None


def _spawn_spark(folder: Path, port: int) -> subprocess.Popen:
    """The Spark Connect server, detached in its own process group (its JVM with it), in the caller's working
    directory: a job's relative paths resolve there. Its token is written before it starts, readable by us only."""
    token_file = _token_file(folder)
    token_file.unlink(missing_ok=True)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(16))
    command = [sys.executable, "-m", SERVER_MODULE, str(folder.resolve()), str(port)]
    with open(spark_log(folder), "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    _pid_file(folder).write_text(f"{process.pid} {port}\n")
    return process


def _wait_for_spark(folder: Path, process: subprocess.Popen, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not broker.accepts_connections(port):
        if process.poll() is not None:
            raise UserError(f"Spark's server died during start-up (exit {process.returncode}); see {spark_log(folder)}")
        if time.monotonic() > deadline:
            raise UserError(f"Spark's server did not start within {timeout:.0f} s; see {spark_log(folder)}")
        time.sleep(0.3)


def _spark_server(folder: Path) -> tuple[int, int] | None:
    """(pid, port) of this folder's Spark server when it runs; a stale pid file names nothing."""
    try:
        pid, port = (int(field) for field in _pid_file(folder).read_text().split())
    except (OSError, ValueError):
        return None
    return (pid, port) if _is_server_of(pid, folder) else None


def _is_server_of(pid: int, folder: Path) -> bool:
    args = broker.command_line(pid) or ""
    return f" -m {SERVER_MODULE} {folder.resolve()} " in f" {args} "


def _stop_process_group(pid: int, folder: Path, timeout: float) -> None:
    """SIGTERM the server alone (it stops Spark, whose JVM then exits: a JVM signalled too would die under it),
    SIGKILL its whole group (JVM and Python workers included) if anything is left after ``timeout``."""
    for kill, signum, wait_s in ((os.kill, signal.SIGTERM, timeout), (os.killpg, signal.SIGKILL, broker.KILL_WAIT_S)):
        with contextlib.suppress(ProcessLookupError):
            kill(pid, signum)
        if _wait_group_gone(pid, wait_s):
            return
    raise UserError(f"the Spark server (pid {pid}) of {folder} survived SIGKILL; see {spark_log(folder)}")


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _group_members(pgid):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pgid, os.WNOHANG)  # reap it when we started it (tests)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: [state, ppid, pgrp, ...]; None when gone."""
    try:
        return (broker.PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for entry in broker.PROC.iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants (Spark's server: Python, its JVM, Python workers)."""
    children: dict[int, list[int]] = {}
    for entry in broker.PROC.iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _rss(current)
        todo.extend(children.get(current, []))
    return total


def _rss(pid: int) -> int:
    try:
        for line in (broker.PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def describe(env: TestEnv) -> dict:
    """What ``status --json`` prints: no token."""
    return {
        "folder": str(env.folder),
        "bootstrap_servers": env.bootstrap_servers,
        "spark_connect": env.spark_address,
        "workdir": str(env.workdir),
        "parts": [part.__dict__ for part in env.parts],
    }


def serve(folder: Path, port: int) -> None:
    """The Spark server's process: a local session with Spark Connect's plugin until SIGTERM."""
    from velib_replay.job.runner import CHECKPOINT_FILE_MANAGER, PLAIN_FILE_MANAGER
    from velib_replay.job.session import spark_session

    token = _token_file(folder).read_text().strip()
    connect = {
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.authenticate.token": token,
        # a default of every session, not only of the server's own: else each client session gets Spark's 200
        # shuffle partitions, 200 state stores a micro-batch on 2 cores (36 s instead of a few for one test)
        "spark.sql.shuffle.partitions": str(CORES),
        # tests' checkpoints are local folders: written as `process` writes its own (see runner), 3x quicker a file
        CHECKPOINT_FILE_MANAGER: PLAIN_FILE_MANAGER,
    }
    session = spark_session(SPARK_MASTER, extra_conf=connect)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            signal.pause()
    finally:
        session.stop()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
