"""A three-broker cluster losing one broker (SIGKILL) during a replay while the job runs."""

from __future__ import annotations

import threading
import uuid

import pytest
from click.testing import CliRunner
from helpers import expected_from, latest_indicators, process_once, topic_values
from kafka import KafkaAdminClient

from velib_replay.cli import main
from velib_replay.job.pipeline import PipelineTopics
from velib_replay.kafka import cluster, topics
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import replay_to_topic


def test_node_properties_share_the_quorum_and_replicate_internal_topics(tmp_path):
    three = cluster.Cluster(tmp_path, 3, 19092)
    settings = dict(line.split("=", 1) for line in cluster.node_properties(three, 2).splitlines())
    assert settings["node.id"] == "2" and settings["listeners"].startswith("PLAINTEXT://127.0.0.1:19094,")
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    assert settings["offsets.topic.replication.factor"] == "3" and settings["min.insync.replicas"] == "2"
    assert three.bootstrap_servers == "localhost:19092,localhost:19094,localhost:19096"
    specs = topics.pipeline_topics("s", "i", "q", replication=3, min_insync=2)
    assert [spec.configs.get("min.insync.replicas") for spec in specs] == ["2", "2", "2"]
    assert "cleanup.policy" not in specs[1].configs  # plain by default: unkeyed rows are accepted
    compacted = topics.pipeline_topics("s", "i", "q", compact=True)
    assert [spec.configs.get("cleanup.policy") for spec in compacted] == [None, "compact", None]


def leader_of(bootstrap: str, topic: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return admin.describe_topics([topic])[0]["partitions"][0]["leader_id"]
    finally:
        admin.close()


@pytest.mark.integration
@pytest.mark.slow
def test_a_broker_killed_mid_replay_loses_and_doubles_nothing(
    kafka_cluster, velib_spark, checkpoint, sample, postcodes
):
    bootstrap = kafka_cluster.bootstrap_servers
    target = KafkaTarget(bootstrap)
    names = PipelineTopics(
        *(f"{role}-{uuid.uuid4().hex[:10]}" for role in ("status", "indicators", "quarantine")), kafka=target
    )
    specs = topics.pipeline_topics(names.status, names.indicators, names.quarantine, replication=3, min_insync=2)
    topics.ensure_topics(target, specs)
    victim = kafka_cluster.nodes[leader_of(bootstrap, names.status) - 1]  # the status partition's leader
    job = threading.Thread(target=process_once, args=(velib_spark, bootstrap, names, checkpoint))
    sent = []

    def midway(slot) -> None:
        sent.append(slot)
        if len(sent) == 2:
            job.start()  # the job runs while the broker dies
        if len(sent) == 4:
            cluster.kill(victim)

    stats = replay_to_topic(sample, target, names.status, PlayOptions(ReplayPlan(speed=120.0)), on_sent=midway)
    job.join()
    process_once(velib_spark, bootstrap, names, checkpoint)  # what arrived after the first run's end offsets
    assert cluster.running(kafka_cluster).count(None) == 1
    assert stats.undelivered == 0 and stats.failed == 0, stats.first_error
    assert len(topic_values(bootstrap, names.status)) == stats.messages  # no message written twice
    assert latest_indicators(bootstrap, names) == expected_from(sample, postcodes)


def test_cli_stop_finds_the_nodes_and_start_refuses_a_controller_port_for_a_cluster(tmp_path):
    for n in (1, 2, 3):
        (tmp_path / f"node-{n}").mkdir()
    runner = CliRunner()
    stopped = runner.invoke(main, ["kafka", "stop", "--data-dir", str(tmp_path)])
    assert stopped.exit_code == 0 and "0 of 3 nodes stopped" in stopped.output
    refused = runner.invoke(
        main, ["kafka", "start", "--nodes", "3", "--controller-port", "9999", "--data-dir", str(tmp_path)]
    )
    assert refused.exit_code == 2 and "--controller-port is for one broker" in refused.output
