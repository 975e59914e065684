"""``velib-replay kafka start|stop|status``: the embedded single-node broker."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from velib_replay.cli import options
from velib_replay.errors import UserError
from velib_replay.kafka import broker, cluster


@click.group("kafka")
def command() -> None:
    """Run the embedded single-node Kafka broker (KRaft, no ZooKeeper)."""


@command.command("start", epilog=options.examples("velib-replay kafka start", "velib-replay kafka start --timeout 180"))
@options.kafka_port
@click.option(
    "--controller-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="KRaft controller port (must differ from --port).  [default: PORT+1]",
)
@options.kafka_data_dir
@click.option(
    "--timeout", type=options.SECONDS, default=90.0, help="Seconds to wait for the broker to accept connections."
)
@click.option(
    "--nodes",
    type=click.IntRange(1, cluster.MAX_NODES),
    default=1,
    help="More than 1: a KRaft cluster of that many brokers on loopback (node N on PORT+2(N-1), its controller"
    " one above, data in DATA_DIR/node-N), internal topics replicated on 3 with 2 in sync; create topics with"
    " `topics --replication 3`.",
)
def start(port: int, controller_port: int | None, data_dir: Path, timeout: float, nodes: int) -> None:
    """Start the broker (or a cluster) in the background; returns once it accepts connections."""
    if nodes > 1:
        if controller_port is not None:
            raise click.UsageError("--controller-port is for one broker: a cluster's are PORT+1, PORT+3, ...")
        started_cluster = cluster.Cluster(data_dir, nodes, port)
        state = "started" if cluster.start(started_cluster, timeout=max(timeout, 180.0)) else "already running"
        click.echo(f"Kafka cluster of {nodes} nodes {state} on {started_cluster.bootstrap_servers} (data: {data_dir})")
        return
    embedded = broker.Broker(data_dir, port, controller_port)
    _discard_stale_pid_file(embedded)
    started, running = broker.start(embedded, timeout=timeout)
    state = "started" if started else "already running"
    click.echo(f"Kafka {state} on {running.bootstrap_servers} (pid {running.running_pid()}, log: {running.log_file})")


@command.command("stop", epilog=options.examples("velib-replay kafka stop"))
@options.kafka_data_dir
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="The port `kafka start --port` was given: stop the broker only if it is the one on this port.",
)
def stop(data_dir: Path, port: int | None) -> None:
    """Stop the broker (or every node of the cluster) started from DATA_DIR."""
    running = broker.Broker(data_dir).running_port()
    if port is not None and running is not None and running != port:
        raise UserError(f"the broker of {data_dir} runs on port {running}, not {port}: nothing stopped")
    nodes = cluster.node_count(data_dir)
    if nodes:
        stopped_nodes = cluster.stop(cluster.Cluster(data_dir, nodes))
        click.echo(f"Kafka cluster: {stopped_nodes} of {nodes} nodes stopped")
        return
    embedded = broker.Broker(data_dir)
    _discard_stale_pid_file(embedded)
    stopped = broker.stop(embedded)
    click.echo("Kafka stopped" if stopped else "Kafka was not running")


@command.command("status", epilog=options.examples("velib-replay kafka status"))
@options.kafka_data_dir
def status(data_dir: Path) -> None:
    """Say whether the broker runs (exit 0) or not (exit 1)."""
    embedded = broker.Broker(data_dir)
    _discard_stale_pid_file(embedded)
    pid = embedded.running_pid()
    if pid is None:
        click.echo(f"Kafka is not running (data dir {data_dir})")
        sys.exit(1)
    port = embedded.running_port()
    reachable = "accepting connections" if port and broker.accepts_connections(port) else "NOT accepting connections"
    click.echo(f"Kafka running on localhost:{port}, pid {pid}, {reachable} (log: {embedded.log_file})")


def _discard_stale_pid_file(embedded: broker.Broker) -> None:
    """Say so when the pid file named a process that is not this folder's broker (it is then removed)."""
    notice = embedded.discard_stale_pid_file()
    if notice:
        click.echo(notice, err=True)
