import gzip
import json
import logging
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from velib_replay.recording import INDEX, Poll, Recording, RecordingError, RecordingWriter
from velib_replay.units import parse_time

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
    for garbage in (b"\xff\xfe\x00{", b"[1, 2]", b"{"):
        (tmp_path / "recording.json").write_bytes(garbage)
        with pytest.raises(RecordingError, match="unreadable manifest"):
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


# ------------------------------------------------------------------ the meta files are the truth
def edit_index_line(path, number: int, **fields) -> None:
    index = path / INDEX
    lines = index.read_text().splitlines(keepends=True)
    lines[number] = json.dumps(json.loads(lines[number]) | fields) + "\n"
    index.write_text("".join(lines))


@pytest.mark.parametrize("fields", [{"valid": False}, {"last_updated": 101}, {"error": "made up"}])
def test_a_lying_index_is_rebuilt_from_the_meta_files_with_one_warning(tmp_path, caplog, fields):
    write_polls(tmp_path, [BODY, BODY, BODY])
    truth = (tmp_path / INDEX).read_bytes()
    edit_index_line(tmp_path, 1, **fields)
    with caplog.at_level(logging.WARNING, logger="velib_replay.recording.reader"):
        polls = Recording(tmp_path).polls()
    assert [(poll.valid, poll.last_updated, poll.error) for poll in polls] == [(True, 100, None)] * 3
    assert (tmp_path / INDEX).read_bytes() == truth
    [warning] = caplog.records
    assert "disagrees with the meta files" in warning.getMessage() and "\n" not in warning.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        Recording(tmp_path).polls()
    assert not caplog.records  # the rebuilt index is trusted again


def test_an_index_listing_a_poll_twice_or_one_too_many_is_rebuilt(tmp_path):
    write_polls(tmp_path, [BODY, BODY])
    index = tmp_path / INDEX
    first = index.read_text().splitlines(keepends=True)[0]
    index.write_text(index.read_text() + first)
    assert len(Recording(tmp_path).polls()) == 2
    other = json.loads(first) | {"meta_file": "2025-10-18/20251018T100000.000Z.station_status.meta.json"}
    index.write_text(index.read_text() + json.dumps(other) + "\n")
    assert len(Recording(tmp_path).polls()) == 2


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00not utf-8\n", b'{"feed": "station_sta'])
def test_a_torn_or_non_utf8_index_is_rebuilt_not_a_traceback(tmp_path, garbage):
    write_polls(tmp_path, [BODY, BODY])
    index = tmp_path / INDEX
    index.write_bytes(index.read_bytes() + garbage)
    assert len(Recording(tmp_path).polls()) == 2
    assert len(index.read_text(encoding="utf-8").splitlines()) == 2


def test_an_index_line_written_otherwise_but_saying_the_same_is_trusted(tmp_path, caplog):
    """Lines of an older tool or a hand-made recording: compared as polls, not as bytes."""
    write_polls(tmp_path, [BODY])
    index = tmp_path / INDEX
    index.write_text(json.dumps(json.loads(index.read_text()), indent=None, separators=(",", ":")) + "\n")
    before = index.read_bytes()
    with caplog.at_level(logging.WARNING):
        assert Recording(tmp_path).polls()[0].valid
    assert not caplog.records and index.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"feed": "station_status", "fetched_at": "yesterday"}', "Invalid isoformat"),
        (b'{"feed": "station_status", "fetched_at": "2025-10-18T09:00:00"}', "no time zone"),
        (b'["not", "an", "object"]', "not a JSON object"),
        (b"\xff\xfe", "unreadable meta file"),
        (b'{"feed": "station_status", "fetched_at": "2025-10-18T09:00:00Z", "colour": "red"}', "colour"),
    ],
)
def test_a_bad_meta_file_is_a_one_line_error_naming_it(tmp_path, content, reason):
    [poll] = write_polls(tmp_path, [BODY])
    (tmp_path / poll.meta_file).write_bytes(content)
    with pytest.raises(RecordingError, match=reason) as error:
        Recording(tmp_path).polls()
    assert str(error.value).startswith(str(tmp_path / poll.meta_file)) and "\n" not in str(error.value)
    (tmp_path / INDEX).unlink()
    with pytest.raises(RecordingError, match=reason):
        Recording(tmp_path).polls()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_whatever_happens_to_the_index_the_polls_are_the_meta_files(tmp_path, data):
    """Property: any damage to index.jsonl (cut, bytes overwritten, bytes inserted) gives the meta files' polls."""
    if not (tmp_path / INDEX).exists():
        write_polls(tmp_path, [BODY, b"not json", BODY])
        RecordingWriter(tmp_path).write(Poll("station_status", parse_time("2025-10-18T09:05:00Z"), error="x"), None)
    expected = [Poll.from_record(json.loads(path.read_bytes())) for path in sorted(tmp_path.glob("*/*.meta.json"))]
    original = b"".join(path.read_bytes() for path in sorted(tmp_path.glob("*/*.meta.json")))
    at = data.draw(st.integers(0, len(original)), label="at")
    damage = data.draw(st.sampled_from(["cut", "overwrite", "insert"]), label="damage")
    junk = data.draw(st.binary(min_size=1, max_size=8), label="junk")
    damaged = {
        "cut": original[:at],
        "overwrite": original[:at] + junk + original[at + len(junk) :],
        "insert": original[:at] + junk + original[at:],
    }[damage]
    (tmp_path / INDEX).write_bytes(damaged)
    assert Recording(tmp_path).polls() == expected
