"""check_golden, the logic under velib_golden: keys, forms, limits and refusals, without pytest in the way."""

from __future__ import annotations

import json

import pytest

from velib_replay.testing.golden import GoldenMismatch, check_golden
from velib_replay.verify.golden import read_golden


def test_a_mapping_is_kept_with_its_keys_and_values_need_not_be_objects(tmp_path):
    golden = tmp_path / "counts.jsonl"
    check_golden(golden, {"b": 2, 1: {"x": [1]}}, update=True)
    assert golden.read_text().splitlines()[1:] == ['{"key": "1", "value": {"x": [1]}}', '{"key": "b", "value": 2}']
    assert check_golden(golden, {"1": {"x": (1,)}, "b": 2}) == f"2 rows equal golden file {golden}"  # as JSON sees it
    with pytest.raises(GoldenMismatch, match=r"0 missing, 0 extra, 1 changed\n  changed: b: value: expected 2, got 3"):
        check_golden(golden, {"1": {"x": [1]}, "b": 3})


def test_rows_without_key_fields_are_their_own_keys(tmp_path):
    golden = tmp_path / "rows.jsonl"
    check_golden(golden, [{"a": 2}, {"a": 1}], update=True)
    assert read_golden(golden, ()) == {'{"a": 1}': {"a": 1}, '{"a": 2}': {"a": 2}}
    with pytest.raises(GoldenMismatch, match=r'1 missing, 1 extra, 0 changed\n  missing: \{"a": 2\}'):
        check_golden(golden, [{"a": 1}, {"a": 3}])


@pytest.mark.parametrize(
    ("rows", "key", "problem"),
    [
        ([], None, "no rows to compare with .* \\(has the job written anything\\?\\)"),
        ([{"p": "1"}, {"p": "1", "n": 2}], "p", "two rows have the key 1: give key= the fields that tell rows apart"),
        ([{"p": 1.5}], "p", 'row {"p": 1.5}: p not a string or integer'),
        ({"k": 1}, "p", "key= names the key fields of a list of rows; a mapping is keyed already"),
        ([{"when": object()}], None, "rows are not JSON-able: .*object"),
    ],
)
def test_rows_that_cannot_be_compared_are_refused_in_words(tmp_path, rows, key, problem):
    with pytest.raises(GoldenMismatch, match=problem):
        check_golden(tmp_path / "golden.jsonl", rows, key=key, update=True)
    assert not (tmp_path / "golden.jsonl").exists()


def test_the_diff_shows_at_most_limit_of_each_kind(tmp_path):
    golden = tmp_path / "golden.jsonl"
    golden.write_text("".join(json.dumps({"key": str(n), "value": n}) + "\n" for n in range(30)))
    with pytest.raises(GoldenMismatch) as failure:
        check_golden(golden, {"x": 1}, limit=3)
    lines = str(failure.value).splitlines()
    assert lines[1:] == ["  missing: 0", "  missing: 1", "  missing: 10", "  ... and 27 more missing", "  extra: x"]
