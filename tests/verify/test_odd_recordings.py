"""Recordings whose stations are odd (non-objects, bike types of any shape) are read, not a traceback."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.contracts.messages import snapshot_messages
from velib_replay.recording import STATUS_FEED, Poll, Recording, RecordingWriter
from velib_replay.verify.reference import judge, over_recording

ODD_STATIONS = [
    1,
    "x",
    None,
    [{"stationCode": "9020"}],
    {"stationCode": 16107, "num_bikes_available": 4},
    {"stationCode": "16107", "num_bikes_available": 2, "num_bikes_available_types": 3},
    {"stationCode": "9020", "num_bikes_available_types": "ebike"},
    {"stationCode": "14111", "num_bikes_available_types": [{"ebike": "2"}, {"ebike": 2**31}, 7, {"ebike": 4}]},
]
CLOCK = 1760778556  # 2025-10-18T09:09:16Z


def odd_recording(path) -> Recording:
    body = {"lastUpdatedOther": CLOCK, "data": {"stations": ODD_STATIONS}}

    writer = RecordingWriter(path, compression="gzip")
    writer.write(
        Poll(STATUS_FEED, datetime(2025, 10, 18, 9, 12, tzinfo=timezone.utc), status=200), json.dumps(body).encode()
    )
    return Recording(path)


def test_info_play_and_verify_read_odd_stations(tmp_path):
    recording = odd_recording(tmp_path / "odd")
    runner = CliRunner()
    info = runner.invoke(main, ["info", str(recording.path)])
    assert info.exit_code == 0, info.output
    dry = runner.invoke(main, ["play", str(recording.path), "--dry-run", "--speed", "max"])
    assert dry.exit_code == 0, dry.output
    expected = over_recording(recording, {"16107": "75016", "14111": "75014"})
    assert expected == {
        "2025-10-18T09:09:16Z|75016": row("75016", bikes=2),
        "2025-10-18T09:09:16Z|75014": row("75014", ebike=4),
        "2025-10-18T09:09:16Z|unknown": row("unknown"),
    }


def test_every_odd_station_is_sent_and_the_reference_judges_the_messages_like_the_recording(tmp_path):
    messages = snapshot_messages(ODD_STATIONS, CLOCK, None)
    assert len(messages) == len(ODD_STATIONS)  # nothing silently left out: the job quarantines what it cannot use
    judged = judge([message.value for message in messages], {"16107": "75016", "14111": "75014"}, CLOCK)
    assert judged.indicators == over_recording(odd_recording(tmp_path / "odd"), {"16107": "75016", "14111": "75014"})
    assert [index for index, _reason in judged.rejected] == [0, 1, 2, 3, 4]


def row(postcode: str, *, bikes: int = 0, ebike: int = 0) -> dict:
    fields = {"stations": 1, "bikes_available": bikes, "mechanical": 0, "ebike": ebike, "docks_available": 0}
    return {"snapshot_time": "2025-10-18T09:09:16Z", "postcode": postcode} | fields
