"""Issue 26's proof, per GBFS version: a system of that version, served by ``serve``, recorded through its
gbfs.json, played, processed with a station table keyed by ``station_id``, and checked by ``verify --recording``.

The system is a simulated day in that version's shape (``simulate --gbfs-version``): v1.1 with the legacy
``num_ebikes_available``, v2.3 and v3.0 with ``bike`` and ``ebike`` vehicle types.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from helpers import latest_indicators

from velib_replay.capture.server import serve
from velib_replay.cli import main
from velib_replay.recording import Recording

pytestmark = pytest.mark.integration
POLLS = 3


@pytest.mark.parametrize("version", ["1.1", "2.3", "3.0"])
def test_a_system_of_each_version_goes_through_the_pipeline_and_verifies(version, velib_kafka, velib_topics, tmp_path):
    runner = CliRunner()
    system, recorded = tmp_path / "system", tmp_path / "recorded"
    made = ["simulate", "--out", str(system), "--snapshots", str(POLLS), "--stations", "12", "--seed", "3", "-q"]
    assert runner.invoke(main, [*made, "--gbfs-version", version]).exit_code == 0
    with serve(Recording(system), speed=None, port=0).start() as server:
        args = ["record", "--gbfs", f"{server.url}/gbfs.json", "--out", str(recorded), "--count", str(POLLS)]
        result = runner.invoke(main, [*args, "--interval", "0.05"])
    assert result.exit_code == 0, result.output
    recording = Recording(recorded)
    assert json.loads(recording.body(recording.polls("station_status")[0]))["version"] == version
    stations = next(recording.snapshots()).stations
    table = tmp_path / "stations.csv"
    ids = [
        str(json.loads(recording.body(recording.polls("station_status")[0]))["data"]["stations"][i]["station_id"])
        for i in range(len(stations))
    ]
    table.write_text("stationCode,postcode\n" + "".join(f"{code},7500{i % 3}\n" for i, code in enumerate(ids)))

    kafka = ["--bootstrap-servers", velib_kafka]
    played = runner.invoke(main, ["play", str(recorded), "--speed", "max", *kafka, "--topic", velib_topics.status])
    assert played.exit_code == 0, played.output
    topics = ["--topic", velib_topics.status, "--indicators-topic", velib_topics.indicators]
    process = ["process", "--once", "--checkpoint", str(tmp_path / "cp"), *kafka, *topics, "--show", "0"]
    processed = runner.invoke(
        main, [*process, "--quarantine-topic", velib_topics.quarantine, "--stations-table", str(table)]
    )
    assert processed.exit_code == 0, processed.output
    verify = ["verify", *kafka, "--indicators-topic", velib_topics.indicators, "--stations-table", str(table)]
    verified = runner.invoke(main, [*verify, "--recording", str(recorded)])
    assert verified.exit_code == 0, verified.output
    assert f"equal the computation over {recorded}" in verified.output

    rows = latest_indicators(velib_kafka, velib_topics).values()
    assert {row["postcode"] for row in rows} == {"75000", "75001", "75002"}  # every station found by station_id
    assert sum(row["ebike"] for row in rows) > 0 and sum(row["mechanical"] for row in rows) > 0
    assert sum(row["stations"] for row in rows) == POLLS * len(stations)
