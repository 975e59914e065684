"""The embedded Kafka: a real single-node Apache Kafka 4 broker in KRaft mode (no ZooKeeper).

It runs as a detached JVM from the jars that ``jvm.resolve("broker")`` fetched,
with its storage, configuration, pid file and log in one data folder, so
``start``, ``status`` and ``stop`` can be called from separate processes.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from velib_replay import config
from velib_replay.errors import UserError
from velib_replay.kafka import jvm

HOST = "127.0.0.1"
READY_LINE = "Kafka Server started"
LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


def default_data_dir() -> Path:
    return config.env_path("KAFKA_DATA_DIR", config.cache_dir() / "kafka")


@dataclass(frozen=True)
class Broker:
    """Where an embedded broker lives and listens."""

    data_dir: Path
    port: int = config.KAFKA_PORT
    controller_port: int | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"localhost:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    def running_pid(self) -> int | None:
        """The pid of this folder's broker if that process is alive."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
            return None
        except PermissionError:
            return pid
        return pid

    def running_port(self) -> int | None:
        """The port the running broker was started on (it may differ from ``self.port``)."""
        try:
            return int(self.pid_file.read_text().split()[1])
        except (FileNotFoundError, ValueError, IndexError):
            return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _server_properties(broker: Broker, controller_port: int) -> str:
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{HOST}:{controller_port}
listeners=PLAINTEXT://{HOST}:{broker.port},CONTROLLER://{HOST}:{controller_port}
advertised.listeners=PLAINTEXT://{HOST}:{broker.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={broker.data_dir / "logs"}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.backoff.ms=1000
"""


def _java_command(java: str, main_class: str, *args: str, heap: str = "512m") -> list[str]:
    return [
        java, f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
        "-cp", jvm.classpath("broker"), main_class, *args,
    ]  # fmt: skip


def _format_storage(broker: Broker, java: str) -> None:
    """Format KRaft storage once per data folder, with a fresh cluster id."""
    if (broker.data_dir / "logs" / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    config_file = str(broker.properties_file)
    command = _java_command(java, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", config_file)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-300:]
        raise UserError(f"formatting Kafka storage in {broker.data_dir} failed: {detail}")


def start(broker: Broker, *, timeout: float = 60.0) -> tuple[bool, Broker]:
    """Start the broker unless it runs already; returns (started now, the broker as it runs)."""
    pid = broker.running_pid()
    if pid is not None:
        return False, Broker(broker.data_dir, broker.running_port() or broker.port)
    java = jvm.require_java()
    controller_port = broker.controller_port or (broker.port + 1)
    for port in (broker.port, controller_port):
        if not _port_free(port):
            raise UserError(f"port {port} is taken: stop what uses it, or choose another with --port")
    broker.data_dir.mkdir(parents=True, exist_ok=True)
    broker.properties_file.write_text(_server_properties(broker, controller_port))
    (broker.data_dir / "log4j2.properties").write_text(LOG4J)
    _format_storage(broker, java)
    heap = os.environ.get(f"{config.ENV_PREFIX}_KAFKA_HEAP", "512m")
    command = _java_command(java, "kafka.Kafka", str(broker.properties_file), heap=heap)
    command.insert(1, f"-Dlog4j2.configurationFile={broker.data_dir / 'log4j2.properties'}")
    with open(broker.log_file, "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    broker.pid_file.write_text(f"{process.pid} {broker.port}\n")
    _wait_until_ready(broker, process, timeout)
    return True, broker


def _wait_until_ready(broker: Broker, process: subprocess.Popen, timeout: float) -> None:
    log_start = broker.log_file.stat().st_size if broker.log_file.exists() else 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            broker.pid_file.unlink(missing_ok=True)
            raise UserError(f"the Kafka broker died during start-up (exit {process.returncode}); see {broker.log_file}")
        with open(broker.log_file, "rb") as log:
            log.seek(log_start)
            if READY_LINE.encode() in log.read() and accepts_connections(broker.port):
                return
        time.sleep(0.2)
    stop(broker)
    raise UserError(f"the Kafka broker did not start within {timeout:.0f} s; see {broker.log_file}")


def accepts_connections(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def stop(broker: Broker, *, timeout: float = 30.0) -> bool:
    """Stop the broker (SIGTERM, then SIGKILL after ``timeout``); False when none was running."""
    pid = broker.running_pid()
    if pid is None:
        broker.pid_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and broker.running_pid() is not None:
        _reap(pid)
        time.sleep(0.2)
    if broker.running_pid() is not None:
        os.killpg(pid, signal.SIGKILL)
        _reap(pid)
    broker.pid_file.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    """Collect the exit status when this process started the broker, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
