"""The report's data equal the golden indicators, and ``report`` writes a page that needs no network."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
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
