"""``velib-replay topics`` on the real broker: the indicators topic plain unless --compact, each name said once."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from kafka import KafkaProducer

from velib_replay.cli import main
from velib_replay.kafka.topics import topic_config

pytestmark = pytest.mark.integration


def run_topics(bootstrap: str, names: tuple[str, str, str], *args: str):
    flags = ("--topic", "--indicators-topic", "--quarantine-topic")
    named = [part for flag, name in zip(flags, names, strict=True) for part in (flag, name)]
    return CliRunner().invoke(main, ["topics", "--bootstrap-servers", bootstrap, *named, *args])


def fresh_names() -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:10]
    return (f"status-{suffix}", f"indicators-{suffix}", f"quarantine-{suffix}")


def test_the_indicators_topic_is_plain_and_takes_unkeyed_rows_each_name_said_once(velib_kafka, velib_kafka_target):
    names = fresh_names()
    first = run_topics(velib_kafka, names)
    assert first.exit_code == 0, first.output
    assert first.output == f"Created: {', '.join(names)}; already there: none\n"
    again = run_topics(velib_kafka, names)
    assert again.output == f"Created: none; already there: {', '.join(names)}\n"
    settings = topic_config(velib_kafka_target, names[1], ["cleanup.policy", "retention.ms"])
    assert settings == {"cleanup.policy": "delete", "retention.ms": "-1"}
    producer = KafkaProducer(bootstrap_servers=velib_kafka)
    try:
        producer.send(names[1], value=b'{"stations": 22}').get(timeout=30)  # the original consumer's null postcode
    finally:
        producer.close()


def test_compact_makes_a_compacted_indicators_topic(velib_kafka, velib_kafka_target):
    names = fresh_names()
    assert run_topics(velib_kafka, names, "--compact").exit_code == 0
    assert topic_config(velib_kafka_target, names[1], ["cleanup.policy"]) == {"cleanup.policy": "compact"}
    assert topic_config(velib_kafka_target, names[0], ["cleanup.policy"]) == {"cleanup.policy": "delete"}
