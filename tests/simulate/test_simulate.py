"""The synthetic-day generator (`velib-replay simulate`): a normal recording, deterministic, plausible."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE

from velib_replay.cli.simulate import command as simulate_command
from velib_replay.contracts.feed import bikes_by_type, minified
from velib_replay.recording import STATUS_FEED, Recording, RecordingError
from velib_replay.simulate.day import (
    DayPattern,
    first_status_body,
    local_midnight,
    resize_stations,
    simulate_day,
)

START = datetime(2025, 10, 18, 4, 0, tzinfo=timezone.utc)  # 06:00 in Paris


@pytest.fixture(scope="module")
def base_body() -> bytes:
    return first_status_body(SAMPLE)


@pytest.fixture(scope="module")
def base(base_body: bytes) -> dict:
    return json.loads(base_body)


def _simulate(base_body: bytes, out: Path, **options):
    settings = {"seed": 3, "snapshots": 5, "stations": 50, "start": START} | options
    return simulate_day(base_body, out, **settings)


def _hashes(path: Path) -> list[str]:
    return [poll.sha256 for poll in Recording(path).polls()]


def test_the_default_base_is_the_real_snapshot_of_the_sample(sample, base_body):
    assert base_body == sample.body(sample.polls(STATUS_FEED)[0])


def test_output_is_a_normal_recording_in_the_feeds_own_style(base_body, tmp_path):
    summary = _simulate(base_body, tmp_path / "sim", interval_s=60)
    recording = Recording(tmp_path / "sim")
    polls = recording.polls(STATUS_FEED)
    assert summary.snapshots == len(polls) == 5 and summary.stations == 50
    assert all(poll.valid and poll.origin and "seed 3" in poll.origin for poll in polls)
    assert [poll.fetched_text[11:19] for poll in polls] == ["04:00:00", "04:01:00", "04:02:00", "04:03:00", "04:04:00"]
    clocks = [poll.last_updated for poll in polls]
    assert [b - a for a, b in itertools.pairwise(clocks)] == [60] * 4
    assert clocks[0] == int(START.timestamp()) - 30
    bodies = [recording.body(poll) for poll in polls]
    assert all(body == minified(json.loads(body)) for body in bodies)
    assert recording.manifest["simulated"]["seed"] == 3


def test_same_seed_same_bytes_other_seed_other_day(base_body, tmp_path):
    day = {"snapshots": 8, "stations": 200, "start": datetime(2025, 10, 18, 6, 30, tzinfo=timezone.utc)}
    _simulate(base_body, tmp_path / "a", **day)
    _simulate(base_body, tmp_path / "b", **day)
    _simulate(base_body, tmp_path / "c", **day, seed=4)
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    assert (tmp_path / "a" / "recording.json").read_bytes() == (tmp_path / "b" / "recording.json").read_bytes()
    assert _hashes(tmp_path / "a")[1:] != _hashes(tmp_path / "c")[1:]


def test_counts_stay_within_capacity_through_trips_and_outages(base_body, base, tmp_path):
    pattern = DayPattern(outages_per_day=20_000, outage_minutes=(2, 4))
    summary = _simulate(base_body, tmp_path / "sim", snapshots=30, stations=100, pattern=pattern)
    capacity = {s["stationCode"]: s["num_bikes_available"] + s["num_docks_available"] for s in base["data"]["stations"]}
    seen_out, came_back = set(), set()
    for snapshot in Recording(tmp_path / "sim").snapshots():
        for station in snapshot.stations:
            code, bikes, docks = station["stationCode"], station["num_bikes_available"], station["num_docks_available"]
            assert min(bikes, docks, *bikes_by_type(station)) >= 0
            assert bikes == sum(bikes_by_type(station)) == station["numBikesAvailable"]
            assert docks == station["numDocksAvailable"]
            if code in summary.roles and station["is_renting"] == 0:
                assert bikes == docks == 0
                seen_out.add(code)
            elif code in summary.roles:
                assert bikes + docks == capacity[code]
                came_back |= {code} & seen_out
    assert summary.trips > 0 and summary.outages > 0 and came_back


def test_station_counts_first_n_or_replicated(base):
    stations = base["data"]["stations"]
    assert [s["stationCode"] for s in resize_stations(stations, 50)] == [s["stationCode"] for s in stations[:50]]
    grown = resize_stations(stations, 2 * len(stations) + 10)
    assert len({s["stationCode"] for s in grown}) == len({s["station_id"] for s in grown}) == len(grown)
    assert grown[len(stations)]["stationCode"] == f"{stations[0]['stationCode']}_sim1"
    assert resize_stations(stations, None) == stations
    with pytest.raises(ValueError):
        resize_stations(stations, 0)


def test_daily_curve_has_quiet_nights_and_two_commute_peaks():
    pattern = DayPattern()
    rate = {hour: pattern.trips_per_minute(hour + 0.5, 1500) for hour in range(24)}
    assert rate[8] > 10 * rate[4] and rate[18] > 10 * rate[4]
    assert rate[18] > rate[13] > rate[22] > rate[2]
    day_total = sum(pattern.trips_per_minute(minute / 60, 1500) for minute in range(1440))
    assert day_total == pytest.approx(1500 * pattern.trips_per_station, rel=0.01)
    assert pattern.commute(8.3) == pytest.approx(1, abs=0.01) and pattern.commute(18.2) == pytest.approx(-1, abs=0.01)
    assert abs(pattern.commute(3)) < 0.01 and abs(pattern.commute(13.2)) < 0.01


def test_morning_commute_empties_residential_stations_and_the_evening_brings_bikes_back(base_body, tmp_path):
    start = local_midnight(json.loads(base_body)["lastUpdatedOther"])
    summary = _simulate(base_body, tmp_path / "sim", snapshots=48, interval_s=1800, stations=300, start=start)
    by_role = []
    for snapshot in Recording(tmp_path / "sim").snapshots():
        totals = dict.fromkeys(("residential", "business"), 0)
        for station in snapshot.stations:
            role = summary.roles.get(station["stationCode"])
            if role in totals:
                totals[role] += station["num_bikes_available"]
        by_role.append(totals)
    night, noon, late = by_role[10], by_role[24], by_role[44]  # 05:00, 12:00, 22:00 local time
    assert noon["residential"] < 0.85 * night["residential"] and noon["business"] > 1.15 * night["business"]
    assert late["residential"] > 1.15 * noon["residential"] and late["business"] < 0.85 * noon["business"]
    trips_by_hour = [sum(summary.departures[i : i + 2]) for i in range(0, 48, 2)]
    assert trips_by_hour[8] > 5 * trips_by_hour[3] and trips_by_hour[18] > 5 * trips_by_hour[3]


def test_refuses_to_write_over_a_recording_and_bad_sizes(base_body, tmp_path):
    _simulate(base_body, tmp_path / "sim", snapshots=1)
    with pytest.raises(RecordingError, match="already holds a recording"):
        _simulate(base_body, tmp_path / "sim", snapshots=1)
    with pytest.raises(ValueError, match="interval"):
        _simulate(base_body, tmp_path / "other", interval_s=0.5)


def test_command_writes_a_recording_and_says_what_it_made(tmp_path):
    out = tmp_path / "day"
    arguments = ["--out", str(out), "--seed", "9", "--snapshots", "3", "--stations", "40", "--interval", "30"]
    result = CliRunner().invoke(simulate_command, [*arguments, "--start", "2025-10-18T07:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "3 snapshots x 40 stations" in result.output
    polls = Recording(out).polls(STATUS_FEED)
    assert [poll.fetched_text for poll in polls][-1] == "2025-10-18T07:01:00.000Z"
    again = CliRunner().invoke(simulate_command, arguments)
    assert again.exit_code != 0 and "already holds a recording" in again.output
    bad = CliRunner().invoke(simulate_command, ["--out", str(tmp_path / "x"), "--stations", "none"])
    assert bad.exit_code == 2 and "--stations" in bad.output
