"""The report's data equal the golden indicators, and ``report`` writes a page that needs no network."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from kafka import KafkaProducer
from plotly.offline import get_plotlyjs

from velib_replay import config
from velib_replay.cli import main
from velib_replay.recording import Recording
from velib_replay.report.data import from_recording, latest_by_postcode, network_totals, stations_of
from velib_replay.verify.golden import read_golden

SAMPLE = config.sample_recording()


def test_network_totals_and_latest_rows():
    rows = [
        {"snapshot_time": "T2", "postcode": "75001", "stations": 2, "bikes_available": 5, "mechanical": 3,
         "ebike": 2, "docks_available": 9},
        {"snapshot_time": "T1", "postcode": "75001", "stations": 2, "bikes_available": 4, "mechanical": 4,
         "ebike": 0, "docks_available": 10},
        {"snapshot_time": "T2", "postcode": "75002", "stations": 1, "bikes_available": 1, "mechanical": 0,
         "ebike": 1, "docks_available": 3},
    ]  # fmt: skip
    totals = network_totals(rows)
    assert list(totals) == ["T1", "T2"]
    assert totals["T2"] == {"stations": 3, "bikes_available": 6, "mechanical": 3, "ebike": 3, "docks_available": 12}
    latest, by_postcode = latest_by_postcode(rows)
    assert latest == "T2" and sorted(by_postcode) == ["75001", "75002"]
    assert by_postcode["75001"]["bikes_available"] == 5


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "R.html"
    result = CliRunner().invoke(main, ["report", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_report_matches_the_golden_indicators(postcodes):
    data = from_recording(SAMPLE, postcodes)
    golden = read_golden(SAMPLE / "indicators.golden.jsonl")
    assert {(row["snapshot_time"], row["postcode"]): row for row in data.rows} == {
        (row["snapshot_time"], row["postcode"]): row for row in golden.values()
    }
    assert len(data.stations) == 1495 == len({station.code for station in data.stations})
    assert list(data.bikes) == data.times  # every snapshot of the sample is a slider position
    assert all(len(values) == len(data.stations) for values in data.bikes.values())
    assert data.health.info.snapshots == 11 and len(data.health.times) == 11


def test_report_writes_an_offline_page_and_pngs(written):
    out, output = written
    page = out.read_text()
    assert page.count(get_plotlyjs()) == 1
    ours = page.replace(get_plotlyjs(), "")  # plotly.js names URLs it never fetches here; the browser test checks
    assert f"Wrote {out}" in output and "opens offline" in output
    assert out.with_suffix(".network.png").stat().st_size > 10_000
    assert out.with_suffix(".map.png").stat().st_size > 10_000
    assert not re.search(r"""(src|href)=|https?://""", ours)
    assert all(f'id="{name}"' in ours for name in ("map", "network", "postcodes", "health", "latest-totals"))


def test_report_usage_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["report"])
    assert result.exit_code == 2 and "give a RECORDING, or --from-topic" in result.output
    result = runner.invoke(main, ["report", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output


def test_stations_without_information_give_no_map(tmp_path):
    import shutil

    shutil.copytree(SAMPLE, tmp_path / "rec")
    for info in (tmp_path / "rec").glob("*/*.station_information.*"):
        info.unlink()
    assert stations_of(Recording(tmp_path / "rec")) == []


@pytest.mark.integration
def test_report_from_topic_with_key_fields_charts_the_original_consumers_rows(velib_kafka, velib_topics, tmp_path):
    """Rows without keys or snapshot_time, under the original consumer's own names: its numbers, each postcode
    once (the latest row), the null postcode explained; without --key-fields they have no key at all."""
    rows = (
        {"postcode": "75001", "total_bikes": 4200, "mechanical": 2300, "ebike": 1900},
        {"postcode": None, "total_bikes": 12, "mechanical": 5, "ebike": 7},
        {"postcode": "75001", "total_bikes": 4225, "mechanical": 2328, "ebike": 1897},
    )
    topic = velib_topics.create("original-output")
    producer = KafkaProducer(bootstrap_servers=velib_kafka)
    for row in rows:
        producer.send(topic, value=json.dumps(row).encode()).get(timeout=60)
    producer.close()
    args = ["report", "--from-topic", "--indicators-topic", topic, "--bootstrap-servers", velib_kafka, "--no-images"]
    out = tmp_path / "original.html"
    done = CliRunner().invoke(main, [*args, "--key-fields", "postcode", "--out", str(out)])
    assert done.exit_code == 0, done.output
    page = out.read_text()
    assert '<td data-field="total_bikes">4225</td>' in page and "4200<" not in page
    assert '<td data-postcode="unknown">no postcode in the station table</td>' in page
    unkeyed = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert unkeyed.exit_code == 1 and "no readable indicator row" in unkeyed.output
