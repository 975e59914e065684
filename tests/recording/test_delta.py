"""Format v2: bodies stored as deltas of the previous one, keyframes, crash safety, v1 ↔ v2 conversion."""

from __future__ import annotations

import itertools
import json
import random
import tracemalloc
from datetime import timedelta

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.contracts.feed import minified
from velib_replay.recording import DELTA, INFO_FEED, STATUS_FEED, Poll, Recording, RecordingError, RecordingWriter
from velib_replay.recording import reader as reader_module
from velib_replay.recording.convert import convert
from velib_replay.simulate.day import DayPattern, first_status_body, simulate_day
from velib_replay.units import parse_time

START = parse_time("2025-10-18T09:00:00Z")


def bodies(count: int, stations: int = 80, seed: int = 3) -> list[bytes]:
    """Consecutive polls as the feed serves them: every last_reported advances, a few counts change."""
    rng = random.Random(seed)
    docs = [
        {"stationCode": str(code), "num_bikes_available": rng.randrange(20), "last_reported": 0}
        for code in range(stations)
    ]
    out = []
    for step in range(count):
        for station in docs:
            station["last_reported"] = 1_760_000_000 + 60 * step - rng.randrange(60)
        for station in rng.sample(docs, stations // 10):
            station["num_bikes_available"] += rng.choice((-1, 1))
        out.append(minified({"lastUpdatedOther": 1_760_000_000 + 60 * step, "data": {"stations": docs}}))
    return out


def write(path, contents: list[bytes | None], first_minute: int = 0, **writer_options) -> list[Poll]:
    writer = RecordingWriter(path, compression=DELTA, **writer_options)
    return [
        writer.write(Poll(STATUS_FEED, START + timedelta(minutes=i), 200 if body else None), body)
        for i, body in enumerate(contents, start=first_minute)
    ]


def counting_decompressions(monkeypatch) -> list[str]:
    calls: list[str] = []
    for name in ("decompress", "decompress_delta"):
        original = getattr(reader_module, name)
        monkeypatch.setattr(
            reader_module, name, lambda data, ref, _o=original, _n=name: calls.append(_n) or _o(data, ref)
        )
    return calls


def test_bodies_come_back_byte_exact_with_keyframes_per_feed(tmp_path):
    status, info = bodies(8), bodies(3, seed=9)
    writer = RecordingWriter(tmp_path, compression=DELTA, keyframe_every=3)
    written = []
    for i, body in enumerate(status):
        written.append(writer.write(Poll(STATUS_FEED, START + timedelta(minutes=i), 200), body))
        if i == 4:
            writer.write(Poll(STATUS_FEED, START + timedelta(minutes=i, seconds=30), error="timeout"), None)
        if i < len(info):
            writer.write(Poll(INFO_FEED, START + timedelta(minutes=i, seconds=1), 200), info[i])
    recording = Recording(tmp_path)
    assert [recording.body(p) for p in recording.polls(STATUS_FEED) if not p.is_gap] == status
    assert [recording.body(p) for p in recording.polls(INFO_FEED)] == info
    assert [p.delta_of is None for p in written] == [True, False, False] * 2 + [True, False]
    assert written[1].delta_of == written[0].body_file and written[1].body_file.endswith(".json.dzst")
    assert written[1].stored_size < written[0].stored_size  # (on real bodies, a fifth: see the convert test)
    manifest = json.loads((tmp_path / "recording.json").read_text())
    assert manifest["version"] == 2 and manifest["codec"] == {"name": DELTA, "keyframe_every": 3, "level": 9}
    assert "delta_of" not in json.loads((tmp_path / written[0].meta_file).read_text())  # a keyframe's meta is v1's


def test_any_body_costs_at_most_keyframe_every_decompressions_and_one_in_order(tmp_path, monkeypatch):
    contents = bodies(12)
    polls = write(tmp_path, contents, keyframe_every=5)
    calls = counting_decompressions(monkeypatch)
    for index, poll in enumerate(polls):
        calls.clear()
        assert Recording(tmp_path).body(poll) == contents[index]
        assert len(calls) == index % 5 + 1 <= 5
    recording, calls[:] = Recording(tmp_path), []
    assert [snapshot.stations for snapshot in recording.snapshots()]  # a replay reads in order
    assert len(calls) == len(polls)


def test_a_crash_loses_only_the_poll_in_flight(tmp_path):
    contents = bodies(6)
    polls = write(tmp_path, contents[:5])
    last = tmp_path / polls[-1].body_file
    last.write_bytes(last.read_bytes()[:-7])  # a torn last file (a crash on a filesystem without ordering)
    recording = Recording(tmp_path)
    assert [recording.body(p) for p in polls[:-1]] == contents[:4]
    with pytest.raises(RecordingError, match="unreadable body"):
        Recording(tmp_path).body(polls[-1])
    last.unlink()  # ...or the body written, its meta file not: the poll was never committed
    (tmp_path / polls[-1].meta_file).unlink()
    resumed = write(tmp_path, contents[5:], first_minute=5)[0]
    assert resumed.delta_of is None  # a resumed writer starts a chain of its own
    recording = Recording(tmp_path)
    assert [recording.body(p) for p in recording.polls()] == contents[:4] + contents[5:]


def test_a_delta_of_a_missing_body_is_a_one_line_error(tmp_path):
    polls = write(tmp_path, bodies(3))
    (tmp_path / polls[0].meta_file).unlink()
    with pytest.raises(RecordingError, match="not a committed body"):
        Recording(tmp_path).body(polls[2])


def test_appending_deltas_to_a_v1_recording_makes_it_v2(tmp_path):
    RecordingWriter(tmp_path, compression="gzip").write(Poll(STATUS_FEED, START, 200), bodies(1)[0])
    assert json.loads((tmp_path / "recording.json").read_text())["version"] == 1
    write(tmp_path, bodies(2)[1:], first_minute=1)
    assert json.loads((tmp_path / "recording.json").read_text())["version"] == 2
    with pytest.raises(RecordingError, match="keyframe every 0"):
        RecordingWriter(tmp_path, compression=DELTA, keyframe_every=0)


def test_convert_v1_to_v2_and_back_keeps_every_poll_and_info_shows_the_codec(tmp_path, sample):
    v2, v1 = tmp_path / "v2", tmp_path / "v1"
    report = convert(sample.path, v2, DELTA)
    assert report.polls == len(sample.polls()) and report.stored_after < report.stored_before / 3
    convert(v2, v1, "gzip")
    original, back = sample, Recording(v1)
    assert [original.body(p) for p in original.polls()] == [back.body(p) for p in back.polls()]
    kept = ("fetched_at", "feed", "valid", "sha256", "last_updated", "error", "meta_file")
    assert [[getattr(p, f) for f in kept] for p in back.polls()] == [
        [getattr(p, f) for f in kept] for p in original.polls()
    ]
    assert json.loads((v1 / "recording.json").read_text())["version"] == 1
    runner = CliRunner()
    shown = runner.invoke(main, ["info", str(v2)])
    assert "codec            v2 zstd-delta (level 9, a keyframe every 60 polls); compression ratio" in shown.output
    assert "codec            v1: each body compressed on its own" in runner.invoke(main, ["info", str(v1)]).output
    again = runner.invoke(main, ["convert", str(v2), str(v1), "--compression", "zstd"])
    assert again.exit_code == 1 and "not an empty folder" in again.output and "Traceback" not in again.output


def test_the_realistic_series_advances_every_last_reported(tmp_path, sample):
    pattern = DayPattern(every_station_reports=True)
    simulate_day(first_status_body(sample.path), tmp_path, seed=2, snapshots=3, stations=300, pattern=pattern)
    recording = Recording(tmp_path)
    reports = [[s["last_reported"] for s in snapshot.stations] for snapshot in recording.snapshots()]
    assert all(
        later > earlier
        for before, after in itertools.pairwise(reports)
        for earlier, later in zip(before, after, strict=True)
    )


def test_reading_in_order_holds_a_few_bodies_not_the_recording(tmp_path):
    contents = bodies(40, stations=800)
    write(tmp_path, contents, keyframe_every=10)
    size, contents = len(contents[-1]), None  # the test's own copies are not the reader's
    recording = Recording(tmp_path)
    recording.polls()  # the index (a few hundred bytes a poll) is not what must stay bounded
    tracemalloc.start()
    try:
        for snapshot in recording.snapshots():
            recording.body(snapshot.poll)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 * size  # 40 bodies were read: play's memory does not grow with the recording
