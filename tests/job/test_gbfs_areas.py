"""Areas of a system without a station table: post_code, else the region's name, else unknown."""

from __future__ import annotations

from datetime import datetime, timezone

from velib_replay.contracts.feed import minified, station_areas
from velib_replay.job.stations_table import load_postcodes
from velib_replay.recording import Poll, RecordingWriter

INFO = minified(
    {
        "last_updated": 1,
        "ttl": 60,
        "data": {
            "stations": [
                {"station_id": "a", "post_code": "0150", "region_id": "r1"},
                {"station_id": 2, "region_id": "r1"},
                {"station_id": "c", "post_code": " "},
                {"stationCode": "16107", "station_id": 213688169, "region_id": "r2"},
            ]
        },
    }
)
REGIONS = minified(
    {
        "last_updated": "2025-11-05T12:00:00Z",
        "ttl": 60,
        "version": "3.0",
        "data": {
            "regions": [
                {"region_id": "r1", "name": [{"text": "Sentrum", "language": "nb"}]},
                {"region_id": "r2", "name": "Paris 1"},
            ]
        },
    }
)


def test_post_code_then_region_name_then_nothing():
    assert station_areas(INFO, REGIONS) == {"a": "0150", "2": "Sentrum", "16107": "Paris 1"}
    assert station_areas(INFO, None) == {"a": "0150"}
    assert station_areas(b"not json", REGIONS) == {}


def test_a_recording_in_place_of_the_table_gives_its_systems_areas(tmp_path):
    writer = RecordingWriter(tmp_path / "rec")
    moment = datetime(2025, 11, 5, 12, tzinfo=timezone.utc)
    for feed, body in (("station_information", INFO), ("system_regions", REGIONS)):
        assert writer.write(Poll(feed, moment, 200), body).valid
    assert load_postcodes(tmp_path / "rec") == {"a": "0150", "2": "Sentrum", "16107": "Paris 1"}
