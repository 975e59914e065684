"""README's first command, end to end, on a broker of its own (free port, temporary folder)."""

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.kafka import broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_starts_kafka_runs_the_pipeline_and_verifies(tmp_path, velib_spark):
    embedded = broker.Broker(tmp_path / "kafka", broker.free_port())
    try:
        result = CliRunner().invoke(main, ["demo", "--port", str(embedded.port), "--data-dir", str(embedded.data_dir)])
    finally:
        broker.stop(embedded)
    assert result.exit_code == 0, result.output
    assert f"Kafka started on localhost:{embedded.port}" in result.output
    assert "Played 11 snapshots (16442 messages) to velib-projet" in result.output
    assert "2025-10-18T09:18:16Z         86      1495            18062" in result.output
    assert "Verification passed: 860 indicator rows equal" in result.output
