"""A real Kafka cluster on loopback: three KRaft nodes (broker and controller each), to test failures.

Each node is an embedded broker of its own (``broker.py``: its data folder, pid file,
log, start and stop) under ``DATA_DIR/node-N``; they share a cluster id and a static
controller quorum, and internal topics are replicated on all three with 2 in sync, so
the cluster keeps serving, and keeps every acknowledged write, when one node dies.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from velib_replay import config
from velib_replay.errors import UserError
from velib_replay.kafka import broker, jvm

NODE_HEAP = "256m"  # three JVMs on a small machine, beside Spark
MIN_INSYNC = 2  # with replication 3: one node may die without losing an acknowledged write
MAX_NODES = 9


@dataclass(frozen=True)
class Cluster:
    """Where the nodes of a cluster live and listen: node N on ``port + 2(N-1)``, its controller one above."""

    data_dir: Path
    size: int = 3
    port: int = config.KAFKA_PORT

    @property
    def nodes(self) -> list[broker.Broker]:
        return [
            broker.Broker(self.data_dir / f"node-{n}", self.port + 2 * (n - 1), self.port + 2 * (n - 1) + 1)
            for n in range(1, self.size + 1)
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    @property
    def replication(self) -> int:
        return min(self.size, 3)

    @property
    def min_insync(self) -> int:
        return min(MIN_INSYNC, self.replication)


def node_count(data_dir: Path) -> int:
    """How many nodes a cluster started in ``data_dir`` has (0: not a cluster's folder)."""
    return sum(1 for n in range(1, MAX_NODES + 1) if (data_dir / f"node-{n}").is_dir())


def node_properties(cluster: Cluster, node_id: int) -> str:
    """The single-node broker's settings with this node's id, the shared quorum and replicated internal topics."""
    node = cluster.nodes[node_id - 1]
    lines = broker._server_properties(node, node.controller_port).splitlines()
    settings = dict(line.split("=", 1) for line in lines if "=" in line)
    replicas, insync = str(cluster.replication), str(cluster.min_insync)
    settings |= {
        "node.id": str(node_id),
        "controller.quorum.voters": ",".join(
            f"{n}@{broker.HOST}:{other.controller_port}" for n, other in enumerate(cluster.nodes, start=1)
        ),
        "default.replication.factor": replicas,
        "min.insync.replicas": insync,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": insync,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": insync,
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def start(cluster: Cluster, *, timeout: float = 180.0) -> bool:
    """Start every node (they need each other to elect a controller, so all are launched before any wait);
    returns False when the cluster was already running."""
    nodes = cluster.nodes
    if all(node.running_pid() is not None for node in nodes):
        return False
    if any(node.running_pid() is not None for node in nodes):
        raise UserError(f"part of the cluster in {cluster.data_dir} runs: stop it first (kafka stop)")
    for node in nodes:
        broker._check_ports(node)
    java, cluster_id = jvm.require_java(), broker.new_cluster_id()
    for node_id, node in enumerate(nodes, start=1):
        broker._make_data_dir(node.data_dir)
        node.properties_file.write_text(node_properties(cluster, node_id))
        (node.data_dir / "log4j2.properties").write_text(broker.LOG4J)
    with ThreadPoolExecutor(len(nodes)) as formatting:  # a JVM each: side by side, not one after the other
        list(formatting.map(lambda node: broker._format_storage(node, java, cluster_id), nodes))
    heap = os.environ.get(f"{config.ENV_PREFIX}_KAFKA_HEAP", NODE_HEAP)
    log_starts = [broker.log_size(node) for node in nodes]
    processes = [broker.spawn(node, java, heap) for node in nodes]
    deadline = time.monotonic() + timeout
    try:
        for node, process, log_start in zip(nodes, processes, log_starts, strict=True):
            broker._wait_until_ready(node, process, max(1.0, deadline - time.monotonic()), log_start)
    except UserError:
        stop(cluster)
        raise
    return True


def stop(cluster: Cluster) -> int:
    """Stop every node that runs; returns how many did."""
    return sum(broker.stop(node) for node in cluster.nodes)


def kill(node: broker.Broker) -> int:
    """SIGKILL one node, as a crash would (no shutdown, no flush); returns its pid."""
    pid = node.running_pid()
    if pid is None:
        raise UserError(f"no node runs in {node.data_dir}")
    broker._signal(pid, signal.SIGKILL)
    return pid


def running(cluster: Cluster) -> list[int | None]:
    """Each node's pid, or None for a node that is down."""
    return [node.running_pid() for node in cluster.nodes]
