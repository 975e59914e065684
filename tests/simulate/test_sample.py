"""The bundled sample: its derivation is reproducible, and its golden file is independently right."""

import json
from datetime import datetime, timezone

from conftest import SAMPLE
from helpers import expected_from

from velib_replay.recording import Recording
from velib_replay.simulate.sample import SampleScript, build_sample
from velib_replay.verify.golden import read_golden


def test_golden_file_equals_an_independent_computation(sample, postcodes):
    assert read_golden(SAMPLE / "indicators.golden.jsonl") == expected_from(sample, postcodes)


def test_sample_has_the_promised_shape(sample):
    polls = sample.polls("station_status")
    assert len(polls) == 11
    assert len({p.sha256 for p in polls}) == 10  # one body polled twice verbatim
    assert polls[0].origin is None and all(p.origin for p in polls[1:])
    script = SampleScript()
    codes = [{s["stationCode"] for s in snap.stations} for snap in sample.snapshots()]
    assert script.absent not in codes[5] and script.absent not in codes[7] and script.absent in codes[8]
    last = {s["stationCode"]: s for s in list(sample.snapshots())[-1].stations}
    assert last[script.stops_renting]["is_renting"] == 0


def test_sample_is_rebuilt_byte_for_byte_from_its_real_bodies(sample, tmp_path):
    status = sample.body(sample.polls("station_status")[0])
    info = sample.body(sample.polls("station_information")[0])
    build_sample(status, info, datetime(2025, 10, 18, 9, 12, tzinfo=timezone.utc), tmp_path)
    rebuilt = Recording(tmp_path)
    assert [p.sha256 for p in rebuilt.polls()] == [p.sha256 for p in sample.polls()]
    assert json.loads((tmp_path / "recording.json").read_text()) == sample.manifest
