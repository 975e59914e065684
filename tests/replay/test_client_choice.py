"""``--client auto`` takes librdkafka when confluent-kafka is importable, kafka-python otherwise."""

from __future__ import annotations

import importlib.util

from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.kafka.publisher import AUTO, resolve_client


def test_auto_prefers_librdkafka_and_falls_back_to_kafka_python(monkeypatch):
    assert resolve_client(AUTO) == "librdkafka"  # confluent-kafka is a dependency
    assert resolve_client("kafka-python") == "kafka-python"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    assert resolve_client(AUTO) == "kafka-python"
    assert resolve_client("librdkafka") == "librdkafka"  # forcing it is the user's choice


def test_play_help_names_the_default_client():
    result = CliRunner().invoke(main, ["play", "--help"])
    assert result.exit_code == 0
    assert "auto" in result.output and "kafka-python" in result.output
