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
from velib_replay.kafka.sasl import SaslSetup

HOST = "127.0.0.1"
BROKER_MAIN_CLASS = "kafka.Kafka"
PROC = Path("/proc")
MAX_PORT = 65535
KILL_WAIT_S = 10.0
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
    sasl: SaslSetup | None = None  # a SASL listener with ACLs instead of plaintext (tests of --kafka-config)
    advertised_port: int | None = None  # the port clients are told to use, when a proxy stands in front (tests)

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
        """The pid in the pid file if that process is this folder's broker (a stale pid may name anything)."""
        recorded = _read_pid_file(self.pid_file)
        if recorded is None or not _is_broker_of(recorded[0], self):
            return None
        return recorded[0]

    def running_port(self) -> int | None:
        """The port the running broker was started on (it may differ from ``self.port``)."""
        recorded = _read_pid_file(self.pid_file)
        return recorded[1] if recorded and self.running_pid() is not None else None

    def discard_stale_pid_file(self) -> str | None:
        """Remove a pid file that names no broker of this folder, so nothing signals a reused pid.

        Returns one line saying what was removed and why, or None when the pid file is absent or right.
        """
        if not _exists(self.pid_file):
            return None
        recorded = _read_pid_file(self.pid_file)
        if recorded is not None and _is_broker_of(recorded[0], self):
            return None
        _remove(self.pid_file)
        if recorded is None:
            return f"unreadable pid file {self.pid_file} removed"
        return f"stale pid file {self.pid_file}: pid {recorded[0]} is not this folder's broker; removed"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        path.unlink()


def _read_pid_file(path: Path) -> tuple[int, int | None] | None:
    """(pid, port) as ``start`` wrote them; None when absent or unreadable (a data dir under a file included)."""
    try:
        fields = path.read_text().split()
        return int(fields[0]), int(fields[1]) if len(fields) > 1 else None
    except (OSError, UnicodeDecodeError, ValueError, IndexError):
        return None


def command_line(pid: int) -> str | None:
    """The process's arguments joined by spaces, from /proc or else from ``ps``; None when there is no such process."""
    proc = PROC / str(pid) / "cmdline"
    if PROC.is_dir():
        try:
            return proc.read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            return None
        except OSError:
            pass  # unreadable here: ask ps
    try:
        result = subprocess.run(
            ["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _is_broker_of(pid: int, broker: Broker) -> bool:
    """Whether ``pid`` runs ``kafka.Kafka`` on this folder's server.properties (a zombie has no command line)."""
    if pid <= 0:
        return False
    args = command_line(pid)
    return bool(args) and _names_broker(args, pid, broker)


def _names_broker(args: str, pid: int, broker: Broker) -> bool:
    padded = f" {args} "
    if f" {BROKER_MAIN_CLASS} " not in padded:
        return False
    wanted = _properties_path(broker)
    return f" {wanted} " in padded or wanted in _relative_properties(pid)


def _relative_properties(pid: int) -> set[str]:
    """The relative server.properties paths a process was given, made absolute from its working directory.

    Earlier versions started the broker with the data dir as given (``.cache/kafka/...``); /proc only.
    """
    try:
        cwd = Path(os.readlink(PROC / str(pid) / "cwd"))
        args = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return set()
    relative = [os.fsdecode(arg) for arg in args if arg.endswith(b"server.properties") and not arg.startswith(b"/")]
    return {str((cwd / arg).resolve()) for arg in relative}


def _properties_path(broker: Broker) -> str:
    """The absolute server.properties path: the broker's command line names it so, whatever the caller's cwd."""
    return str(broker.properties_file.resolve())


def port_free(port: int) -> bool:
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


def on_free_ports(data_dir: Path, sasl: SaslSetup | None = None) -> Broker:
    """A broker in ``data_dir`` on ports free right now: for tests, scenarios, benchmarks, a demo on a busy port."""
    return Broker(data_dir, free_port(), free_port(), sasl=sasl)


def port_holder(port: int) -> str | None:
    """``pid N (name)`` of the process listening on ``port``, read from /proc; None where /proc cannot tell."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    sockets = {f"socket:[{inode}]" for inode in inodes}
    for fd_dir in PROC.glob("[0-9]*/fd"):
        if sockets & _fd_targets(fd_dir):
            pid = fd_dir.parent.name
            try:
                name = (fd_dir.parent / "comm").read_text().strip()
            except OSError:
                return f"pid {pid}"
            return f"pid {pid} ({name})"
    return None


def _fd_targets(fd_dir: Path) -> set[str]:
    """What a process's open file descriptors point to; empty when it is gone or another user's."""
    targets = set()
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):  # closed meanwhile (the listing's own descriptor among them)
                targets.add(os.readlink(fd))
    return targets


def _listening_inodes(port: int) -> set[str]:
    """The socket inodes listening on ``port`` (IPv4 and IPv6), from /proc/net/tcp{,6}."""
    inodes = set()
    for table in (PROC / "net" / "tcp", PROC / "net" / "tcp6"):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is ADDRESS:PORT in hex; state 0A is LISTEN; the inode is the tenth field
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


class PortTaken(UserError):
    """A port the broker needs is held by another process (``holder`` names it when /proc can tell)."""

    def __init__(self, port: int, advice: str) -> None:
        self.port, self.holder = port, port_holder(port)
        super().__init__(f"port {port} is taken{f' by {self.holder}' if self.holder else ''}: {advice}")


def _listener_properties(broker: Broker, controller_port: int) -> str:
    advertised = broker.advertised_port or broker.port  # after the first metadata, clients connect to this one
    if broker.sasl is not None:
        return broker.sasl.listener_properties(HOST, broker.port, controller_port, advertised)
    return f"""\
listeners=PLAINTEXT://{HOST}:{broker.port},CONTROLLER://{HOST}:{controller_port}
advertised.listeners=PLAINTEXT://{HOST}:{advertised}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
"""


def _server_properties(broker: Broker, controller_port: int) -> str:
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{HOST}:{controller_port}
{_listener_properties(broker, controller_port)}log.dirs={broker.data_dir / "logs"}
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


def new_cluster_id() -> str:
    """A random KRaft cluster id that never starts with "-", as Kafka's own Uuid.randomUuid() ensures: the storage
    tool's argument parser would read such an id as an option (one start in 64 failed)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_storage(broker: Broker, java: str, cluster_id: str | None = None) -> None:
    """Format KRaft storage once per data folder, with a fresh cluster id (the nodes of a cluster share one)."""
    if (broker.data_dir / "logs" / "meta.properties").exists():
        return
    cluster_id = cluster_id or new_cluster_id()
    config_file = str(broker.properties_file)
    scram = broker.sasl.format_arguments() if broker.sasl else []
    command = _java_command(java, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", config_file, *scram)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-300:]
        raise UserError(f"formatting Kafka storage in {broker.data_dir} failed: {detail}")


def start(broker: Broker, *, timeout: float = 60.0) -> tuple[bool, Broker]:
    """Start the broker unless it runs already; returns (started now, the broker as it runs)."""
    broker.discard_stale_pid_file()
    pid = broker.running_pid()
    if pid is not None:
        return False, Broker(broker.data_dir, broker.running_port() or broker.port, sasl=broker.sasl)
    controller_port = _check_ports(broker)
    _make_data_dir(broker.data_dir)
    java = jvm.require_java()
    broker.properties_file.write_text(_server_properties(broker, controller_port))
    (broker.data_dir / "log4j2.properties").write_text(LOG4J)
    _format_storage(broker, java)
    process = spawn(broker, java, os.environ.get(f"{config.ENV_PREFIX}_KAFKA_HEAP", "512m"))
    _wait_until_ready(broker, process, timeout)
    return True, broker


def spawn(broker: Broker, java: str, heap: str) -> subprocess.Popen:
    """Launch the broker JVM of a prepared data folder in its own session, and record its pid; no waiting."""
    command = _java_command(java, BROKER_MAIN_CLASS, _properties_path(broker), heap=heap)
    command.insert(1, f"-Dlog4j2.configurationFile={broker.data_dir / 'log4j2.properties'}")
    with open(broker.log_file, "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    broker.pid_file.write_text(f"{process.pid} {broker.port}\n")
    return process


def _check_ports(broker: Broker) -> int:
    """The controller port, once both ports are known free; an error names the option really at fault."""
    if broker.controller_port is None:
        controller_port = broker.port + 1
        at_fault = "PORT+1, the default controller port; choose another with --controller-port"
        if controller_port > MAX_PORT:
            raise UserError(f"port {controller_port} does not exist: it is {at_fault}")
    else:
        controller_port = broker.controller_port
        at_fault = "--controller-port; choose another"
        if controller_port == broker.port:
            raise UserError(f"--controller-port {controller_port} is --port too: the two must differ")
    if not port_free(broker.port):
        advice = f"stop it, or choose another port with --port or {config.ENV_PREFIX}_KAFKA_PORT"
        raise PortTaken(broker.port, advice)
    if not port_free(controller_port):
        raise PortTaken(controller_port, f"it is {at_fault}")
    return controller_port


def _make_data_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot use {data_dir} as the broker's data folder: {error.strerror or error}") from None


def log_size(broker: Broker) -> int:
    """Where this start's lines begin in the (appended) log."""
    return broker.log_file.stat().st_size if broker.log_file.exists() else 0


def _wait_until_ready(broker: Broker, process: subprocess.Popen, timeout: float, log_start: int | None = None) -> None:
    log_start = log_size(broker) if log_start is None else log_start
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
    """Stop the broker (SIGTERM, then SIGKILL after ``timeout``); False when none was running.

    Only a process whose command line shows it is this folder's broker is ever signalled.
    """
    broker.discard_stale_pid_file()
    pid = broker.running_pid()
    if pid is None:
        return False
    for signum, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, KILL_WAIT_S)):
        if _is_broker_of(pid, broker):  # checked again: while it exits its command line reads empty
            _signal(pid, signum)
        if _wait_gone(pid, broker, wait_s):
            _remove(broker.pid_file)
            return True
    raise UserError(f"the Kafka broker (pid {pid}) survived SIGKILL for {KILL_WAIT_S:.0f} s; see {broker.log_file}")


def _wait_gone(pid: int, broker: Broker, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(pid, broker):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def _gone(pid: int, broker: Broker) -> bool:
    """Whether the broker has exited, its ports and files released: reaped, a zombie, or its pid already reused.

    Its command line reads empty as soon as it starts exiting, before its sockets close, so that is not enough.
    """
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    if _state(pid) == "Z":
        _reap(pid)  # it may have exited just after the first reap
        return True
    args = command_line(pid)
    return bool(args) and not _names_broker(args, pid, broker)


def _state(pid: int) -> str | None:
    """The process state letter from /proc (Z for a zombie), or from ``ps``."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        return stat.rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        pass
    try:
        result = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return result.stdout.strip()[:1] or None


def _signal(pid: int, signum: int) -> None:
    """Signal the broker's process group (it leads one), or the process alone if it leads none; gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            os.kill(pid, signum)


def _reap(pid: int) -> None:
    """Collect the exit status when this process started the broker, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
