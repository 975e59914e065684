"""The original consumer against recorded traffic: real Kafka, real Spark, the bundled sample recording.

Only velib-replay's pytest plugin is used (installing velib-replay registers it). Run ``pytest`` here;
after an intended change of the job's output, ``pytest --velib-update-golden`` rewrites the golden file.
"""

from __future__ import annotations

import job
import pytest

from velib_replay.config import sample_recording

SAMPLE = sample_recording()  # bundled with velib-replay: 16,442 station messages

pytestmark = pytest.mark.integration


@pytest.fixture
def original_run(velib_play, velib_spark, velib_kafka, velib_topics, velib_latest, tmp_path):
    """One faithful replay of the sample, then the job once over it: (play statistics, rows per postcode)."""
    played = velib_play(SAMPLE)  # to velib_topics.status
    output = velib_topics.create("per-postcode")  # the job's own topic: rows without keys
    query = job.start(velib_spark, velib_kafka, velib_topics.status, output, tmp_path / "ckpt", available_now=True)
    query.awaitTermination()
    return played, velib_latest(output, key="code_postal")


def test_sums_per_postcode_match_the_golden_file(original_run, velib_golden):
    _played, rows = original_run
    velib_golden("golden/per_postcode.jsonl", rows)


def test_the_inner_join_drops_the_stations_missing_from_the_csv(original_run):
    """The known flaw, in numbers: station messages whose code is not in the CSV vanish from every sum (and the
    stations with an empty postcode in it are summed in a row whose postcode is null)."""
    played, rows = original_run
    counted = sum(row["stations"] for row in rows.values())
    assert (played.messages, counted) == (16_442, 15_540)
    assert played.messages - counted == 902  # 5.5 % of the station messages, dropped without a word
    assert rows["null"]["stations"] == 22
