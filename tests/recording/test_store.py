import gzip
import json
import os

import pytest

from velib_replay.recording import INDEX, Poll, Recording, RecordingError, RecordingWriter, parse_time

BODY = b'{"lastUpdatedOther":100,"ttl":3600,"data":{"stations":[{"stationCode":"1","num_bikes_available":2}]}}'


def write_polls(path, bodies, compression="gzip"):
    writer = RecordingWriter(path, compression=compression)
    return [
        writer.write(
            Poll(feed="station_status", fetched_at=parse_time(f"2025-10-18T09:{i:02d}:00.000Z"), status=200), body
        )
        for i, body in enumerate(bodies)
    ]


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_bodies_come_back_byte_for_byte(tmp_path, compression):
    polls = write_polls(tmp_path, [BODY, b"not json"], compression)
    recording = Recording(tmp_path)
    assert [recording.body(p) for p in recording.polls()] == [BODY, b"not json"]
    assert [p.valid for p in polls] == [True, False]
    assert polls[1].error.startswith("not JSON")
    assert polls[0].last_updated == 100


def test_gap_is_a_meta_file_without_body(tmp_path):
    writer = RecordingWriter(tmp_path)
    gap = writer.write(
        Poll(feed="station_status", fetched_at=parse_time("2025-10-18T09:00:00.000Z"), error="timeout"), None
    )
    assert gap.is_gap and not list(tmp_path.glob("*/*.json.gz"))
    assert Recording(tmp_path).polls()[0].error == "timeout"


def test_index_is_rebuilt_from_meta_files_when_torn_or_lost(tmp_path):
    write_polls(tmp_path, [BODY, BODY, BODY])
    index = tmp_path / INDEX
    index.write_text(index.read_text()[:-20])  # a crash in the middle of the last line
    assert len(Recording(tmp_path).polls()) == 3
    index.unlink()
    assert len(Recording(tmp_path).polls()) == 3
    assert len(index.read_text().splitlines()) == 3


def test_a_body_without_meta_file_is_not_a_poll(tmp_path):
    write_polls(tmp_path, [BODY])
    (tmp_path / "2025-10-18" / "20251018T090100.000Z.station_status.json.gz").write_bytes(gzip.compress(BODY))
    assert len(Recording(tmp_path).polls()) == 1


def test_same_millisecond_polls_do_not_overwrite(tmp_path):
    writer = RecordingWriter(tmp_path)
    for _ in range(2):
        writer.write(Poll(feed="station_status", fetched_at=parse_time("2025-10-18T09:00:00.000Z")), BODY)
    assert len(Recording(tmp_path).polls()) == 2


def test_not_a_recording_is_a_clear_error(tmp_path):
    with pytest.raises(RecordingError, match="not a recording"):
        Recording(tmp_path)
    (tmp_path / "recording.json").write_text(json.dumps({"format": "other", "version": 9}))
    with pytest.raises(RecordingError, match="unsupported recording format"):
        Recording(tmp_path)


def test_truncated_body_file_is_a_clear_error(tmp_path):
    [poll] = write_polls(tmp_path, [BODY])
    path = tmp_path / poll.body_file
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(RecordingError, match="unreadable body"):
        Recording(tmp_path).body(poll)


def test_no_temporary_files_are_left_behind(tmp_path):
    write_polls(tmp_path, [BODY, BODY])
    leftovers = [name for _, _, files in os.walk(tmp_path) for name in files if name.startswith(".tmp-")]
    assert leftovers == []
