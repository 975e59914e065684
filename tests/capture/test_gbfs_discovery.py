"""``record --gbfs`` on any system: discovery through gbfs.json in every version, the system's other feeds
recorded at their own ttl, and snapshots that carry the message contract's added fields.

The bodies are real ones (data/gbfs/README.md), served over loopback; only their feed URLs are pointed at it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from velib_replay.capture.client import ApiClient, feeds_from_gbfs
from velib_replay.capture.recorder import Poller, Sources, StatusLine, Unstored
from velib_replay.cli import main
from velib_replay.errors import UserError
from velib_replay.recording import Recording
from velib_replay.signals import StopRequest

GBFS = Path(__file__).resolve().parents[2] / "data" / "gbfs"
SYSTEM = b'{"last_updated":1631258631,"ttl":3600,"version":"2.2","data":{"system_id":"lillestrombysykkel","name":"x"}}'


def discovery(system: str, base: str) -> dict:
    """The system's real gbfs.json, its feed URLs pointed at the loopback server."""
    document = json.loads((GBFS / system / "gbfs.json").read_bytes())
    data = document["data"]
    for feed in data["feeds"] if "feeds" in data else data["en"]["feeds"]:
        feed["url"] = f"{base}/{feed['name']}.json"
    return document


def test_gbfs_json_lists_feeds_in_v1_and_v3_and_by_language():
    v1 = feeds_from_gbfs(discovery("helsinki", "http://h"), "http://h/gbfs.json")
    assert v1["station_status"] == "http://h/station_status.json" and "system_information" in v1
    v3 = feeds_from_gbfs(discovery("duplicate-stations-v3", "http://h"), "http://h/gbfs.json", lang="fr")
    assert set(v3) == {"system_information", "station_information", "station_status"}
    two = {"data": {"en": {"feeds": [{"name": "station_status", "url": "/en"}]}, "nb": {"feeds": []}}}
    assert feeds_from_gbfs(two, "http://h/g.json", "en") == {"station_status": "http://h/en"}
    with pytest.raises(UserError, match=r"no feeds in --lang 'fi' \(it has: en, nb\)"):
        feeds_from_gbfs(two, "http://h/g.json", "fi")


def test_record_discovers_and_records_the_systems_feeds_at_their_ttl(httpserver, tmp_path):
    base = httpserver.url_for("").rstrip("/")
    listed = discovery("helsinki", base)
    listed["data"]["en"]["feeds"].append({"name": "vehicle_types", "url": f"{base}/vehicle_types.json"})
    httpserver.expect_request("/gbfs.json").respond_with_json(listed)
    httpserver.expect_request("/station_status.json").respond_with_data(
        (GBFS / "lillestrombysykkel" / "station_status.json").read_bytes(), content_type="application/json"
    )
    httpserver.expect_request("/vehicle_types.json").respond_with_data(
        (GBFS / "lillestrombysykkel" / "vehicle_types.json").read_bytes(), content_type="application/json"
    )
    httpserver.expect_request("/system_information.json").respond_with_data(SYSTEM, content_type="application/json")
    httpserver.expect_request("/station_information.json").respond_with_json({"data": {"stations": []}})
    out = tmp_path / "rec"
    args = ["record", "--gbfs", f"{base}/gbfs.json", "--lang", "en", "--out", str(out), "--count", "3"]
    result = CliRunner().invoke(main, [*args, "--interval", "0.05"])
    assert result.exit_code == 0, result.output
    recording = Recording(out)
    assert len(recording.polls("station_status")) == 3
    assert len(recording.polls("vehicle_types")) == 1  # ttl 15 s: checked once in this short run
    assert len(recording.polls("system_information")) == 1
    assert recording.manifest["source"]["other_feeds"]["vehicle_types"] == f"{base}/vehicle_types.json"
    first = next(recording.snapshots()).stations[0]
    assert first["stationCode"] == "YLS:VehicleSharingParkingArea:3"
    assert first["num_bikes_available_types"] == [{"mechanical": 10}, {"ebike": 0}]
    assert first["system_id"] == "lillestrombysykkel"


def test_the_poller_keeps_the_systems_context_for_live(httpserver):
    """``live`` publishes from the poller's bodies: the context is there from the first snapshot on."""
    served = {
        "station_status": (GBFS / "lillestrombysykkel" / "station_status.json").read_bytes(),
        "vehicle_types": (GBFS / "lillestrombysykkel" / "vehicle_types.json").read_bytes(),
        "system_information": SYSTEM,
    }
    for feed, body in served.items():
        httpserver.expect_request(f"/{feed}.json").respond_with_data(body, content_type="application/json")
    others = tuple((feed, httpserver.url_for(f"/{feed}.json")) for feed in ("system_information", "vehicle_types"))
    sources = Sources(httpserver.url_for("/station_status.json"), None, 3600.0, others)
    seen = []
    with ApiClient() as client:
        poller = Poller(
            sources,
            client,
            Unstored(),
            StopRequest(),
            StatusLine(tty=False),
            on_status=lambda p, b: seen.append(poller.context),
        )
        poller.step()
    assert seen[0].system_id == "lillestrombysykkel"
    assert seen[0].bike_kinds == {"YLS:VehicleType:CityBike": "mechanical"}
