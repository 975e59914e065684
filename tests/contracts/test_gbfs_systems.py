"""One station message contract for every GBFS version, checked on real bodies (data/gbfs/README.md says whose).

Each system's stations go out with every field unchanged, plus what makes them read as Vélib's do; the
body-bytes path and the parse path agree, and the reference computation counts them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from velib_replay.contracts.feed import (
    NO_CONTEXT,
    SystemContext,
    feed_time,
    parse_status,
    system_context,
    with_added_fields,
)
from velib_replay.contracts.messages import body_messages, snapshot_messages
from velib_replay.verify.reference import compute

GBFS = Path(__file__).resolve().parents[2] / "data" / "gbfs"
LILLESTROM_TYPES = (GBFS / "lillestrombysykkel" / "vehicle_types.json").read_bytes()


def body(system: str) -> bytes:
    return (GBFS / system / "station_status.json").read_bytes()


def messages(raw: bytes, context: SystemContext = NO_CONTEXT) -> list[dict]:
    """The messages of a body, both paths, checked to carry the same keys and JSON values."""
    document = parse_status(raw)
    assert document.last_updated is not None
    fast = body_messages(raw, document.last_updated, None, context)
    plain = snapshot_messages(with_added_fields(document.stations, context), document.last_updated, None)
    assert fast is not None
    assert [(m.key, json.loads(m.value)) for m in fast] == [(m.key, json.loads(m.value)) for m in plain]
    return [json.loads(m.value) for m in fast]


@pytest.mark.parametrize(
    ("value", "epoch"),
    [
        (1631517710, 1631517710),
        ("2025-11-05T12:00:00+00:00", 1762344000),
        ("2025-11-05T12:00:00Z", 1762344000),
        ("2025-11-05T13:00:00.123456+01:00", 1762344000),
        ("2025-11-05t12:00:00z", 1762344000),
        ("2025-11-05T12:00:00", None),  # no offset: not RFC 3339
        ("2025-02-30T12:00:00Z", None),
        ("soon", None),
        (None, None),
    ],
)
def test_feed_time_reads_posix_seconds_and_rfc3339(value, epoch):
    assert feed_time(value) == epoch


def test_v1_helsinki_gets_its_station_id_as_stationcode_and_nothing_it_lacks():
    sent = messages(body("helsinki"))
    assert [m["stationCode"] for m in sent] == ["001", "002", "003", "004"]
    assert sent[0]["snapshot_time"] == "2021-09-13T07:21:50Z"
    assert "num_bikes_available_types" not in sent[0]  # no vehicle types, no ebike count: not invented
    assert sent[0]["num_bikes_available"] == 2 and sent[0]["is_installed"] == 1


def test_v2_lillestrom_counts_its_bicycles_by_vehicle_type():
    context = system_context(b'{"data":{"system_id":"lillestrombysykkel"}}', LILLESTROM_TYPES)
    sent = messages(body("lillestrombysykkel"), context)
    assert sent[0]["num_bikes_available_types"] == [{"mechanical": 10}, {"ebike": 0}]
    assert sent[0]["system_id"] == "lillestrombysykkel"
    assert sent[0]["vehicle_types_available"] == [{"vehicle_type_id": "YLS:VehicleType:CityBike", "count": 10}]
    assert sent[0]["stationCode"] == "YLS:VehicleSharingParkingArea:3"


def test_v1_bay_wheels_splits_its_bikes_by_the_legacy_ebike_count():
    sent = messages(body("baywheels"))
    assert sent[0]["stationCode"] == "003d58af-e449-4800-aa6d-eb1bba8ad68d"
    assert {m["snapshot_time"] for m in sent} == {"2023-05-30T20:48:18Z"}  # POSIX last_updated, at the body's end
    assert [m["num_bikes_available_types"] for m in sent] == [
        [{"mechanical": 23}, {"ebike": 2}],
        [{"mechanical": 1}, {"ebike": 2}],
        [{"mechanical": 6}, {"ebike": 0}],
    ]
    assert sent[0]["num_ebikes_available"] == 2 and sent[0]["legacy_id"] == "566"  # its own fields kept


def test_v2_oslo_without_vehicle_types_keeps_its_counts_and_invents_no_split():
    sent = messages(body("oslobysykkel"))
    assert [m["stationCode"] for m in sent] == ["2358", "2357", "2355"]
    assert sent[0]["snapshot_time"] == "2023-07-07T12:31:43Z"
    assert [m["num_bikes_available"] for m in sent] == [11, 16, 10]
    assert sent[0]["vehicle_types_available"] == [{"vehicle_type_id": "bike", "count": 11}]
    assert "num_bikes_available_types" not in sent[0]  # its vehicle_types.json is not kept: no form factor known


def test_v2_station_listed_twice_is_counted_once_by_the_reference():
    stations = with_added_fields(parse_status(body("duplicate-stations-v2")).stations, NO_CONTEXT)
    (row,) = compute([(1631258631, stations)], {}).values()
    assert row["stations"] == 3 and row["bikes_available"] == 5 + 8 + 3  # the smaller reading of the twice-listed


def test_v3_time_is_rfc3339_and_vehicles_stand_for_bikes():
    sent = messages(body("duplicate-stations-v3"))
    assert {m["snapshot_time"] for m in sent} == {"2025-11-05T12:00:00Z"}
    assert [m["num_bikes_available"] for m in sent] == [5, 10, 8, 3]
    assert sent[0]["last_reported"] == "2025-11-05T12:00:00+00:00"


def test_v3_velov_lyon_vehicles_stand_for_bikes_at_its_rfc3339_time():
    sent = messages(body("velov-lyon"))
    assert [m["stationCode"] for m in sent] == ["1032", "1024", "1"]
    assert {m["snapshot_time"] for m in sent} == {"2026-09-02T17:37:16Z"}  # from "2026-09-02T17:37:16.148Z"
    assert [m["num_bikes_available"] for m in sent] == [12, 5, 0]
    assert sent[0]["last_reported"] == "2026-09-02T17:36:00Z" and sent[2]["is_installed"] is False
    assert "num_bikes_available_types" not in sent[0]  # no vehicle_types.json kept: its type ids are not read


def test_ebikes_and_other_form_factors():
    types = {
        "data": {
            "vehicle_types": [
                {"vehicle_type_id": "bike", "form_factor": "bicycle", "propulsion_type": "human"},
                {"vehicle_type_id": "ebike", "form_factor": "bicycle", "propulsion_type": "electric_assist"},
                {"vehicle_type_id": "cargo", "form_factor": "cargo_bicycle", "propulsion_type": "electric_assist"},
                {"vehicle_type_id": "scooter", "form_factor": "scooter", "propulsion_type": "electric"},
            ]
        }
    }
    context = system_context(None, json.dumps(types).encode())
    station = {
        "station_id": 7,
        "num_bikes_available": 9,
        "vehicle_types_available": [
            {"vehicle_type_id": t, "count": n} for t, n in [("bike", 2), ("ebike", 3), ("cargo", 1), ("scooter", 3)]
        ],
    }
    (sent,) = with_added_fields([station], context)
    assert sent["num_bikes_available_types"] == [{"mechanical": 2}, {"ebike": 3}]
    assert sent["stationCode"] == "7"


def test_legacy_num_ebikes_available_without_vehicle_types():
    (sent,) = with_added_fields([{"station_id": "a", "num_bikes_available": 5, "num_ebikes_available": 2}], NO_CONTEXT)
    assert sent["num_bikes_available_types"] == [{"mechanical": 3}, {"ebike": 2}]


def test_velib_station_without_stationcode_stays_without_one():
    stations = [{"stationCode": "1", "station_id": 1}, {"station_id": 2}]
    assert with_added_fields(stations, NO_CONTEXT) == stations
