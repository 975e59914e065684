"""What real streams do to the original consumer, asserted with velib-replay's ``velib_robustness`` fixture (the
table of ``velib-replay robustness``, as rows): it counts a re-sent station twice, and corrupt messages change
its sums without crashing it."""

from __future__ import annotations

import job
import pytest

from velib_replay.config import sample_recording

pytestmark = pytest.mark.integration


def test_duplicates_are_counted_twice_and_poison_crashes_nothing(velib_robustness):
    matrix = velib_robustness(job.start, sample_recording(), key="postcode", faults="duplicate,reorder,corrupt")
    assert matrix["duplicate"].verdict == "sensitive"
    assert "does not deduplicate on (station, snapshot time)" in matrix["duplicate"].cause
    assert matrix["reorder"].verdict == "robust"
    assert matrix["corrupt"].verdict == "changed"  # not "failed": from_json reads a corrupt message as nulls
