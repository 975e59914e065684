"""The golden workflow as a user lives it, through pytest itself (pytester): no Kafka, no Spark needed."""

from __future__ import annotations

import json
import re

import pytest
from conftest import PLUGIN_INSTALLED, SAMPLE

pytest_plugins = ["pytester"]

PLUGIN = [] if PLUGIN_INSTALLED else ["-p", "velib_replay.testing.plugin"]
USER_TEST = """
import json, pathlib

def test_job_output(velib_golden):
    rows = json.loads((pathlib.Path(__file__).parent / "rows.json").read_text())
    velib_golden("golden/per_postcode.jsonl", rows, key="postcode")
"""
ROWS = [{"postcode": "75002", "bikes": 5}, {"postcode": "75001", "bikes": 3}]


def run(pytester: pytest.Pytester, rows: list[dict], *args: str) -> pytest.RunResult:
    (pytester.path / "rows.json").write_text(json.dumps(rows))
    return pytester.runpytest_inprocess(*PLUGIN, *args)


def test_missing_then_written_then_equal_then_a_diff_naming_the_keys(pytester):
    pytester.makepyfile(test_user=USER_TEST)
    golden = pytester.path / "golden" / "per_postcode.jsonl"

    missing = run(pytester, ROWS)
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines([f"*golden file {golden} is missing: run pytest --velib-update-golden to write it"])

    written = run(pytester, ROWS, "--velib-update-golden")
    written.assert_outcomes(passed=1)
    written.stdout.fnmatch_lines(
        ["*velib-replay golden files*", f"*test_job_output: wrote 2 rows to golden file {golden}"]
    )
    header, *rows = golden.read_text().splitlines()
    assert json.loads(header) == {"velib_golden": 1, "form": "rows", "key_fields": ["postcode"]}
    assert rows == [json.dumps(row, sort_keys=True) for row in reversed(ROWS)]

    run(pytester, ROWS).assert_outcomes(passed=1)

    wrong = run(pytester, [{"postcode": "75002", "bikes": 6}, {"postcode": "75003", "bikes": 1}])
    wrong.assert_outcomes(failed=1)
    wrong.stdout.fnmatch_lines(
        [
            f"*rows differ from golden file {golden}: 1 missing, 1 extra, 1 changed",
            "*  missing: 75001",
            "*  extra: 75003",
            "*  changed: 75002: bikes: expected 5, got 6",
        ]
    )
    assert "Traceback" not in wrong.stdout.str() and "During handling" not in wrong.stdout.str()
    report = wrong.stdout.str().split("short test summary info")[0]  # with CI set, pytest repeats it in full there
    assert report.count("changed: 75002") == 1


@pytest.mark.integration
def test_velib_play_injects_seeded_faults_and_keeps_their_ledger(velib_play, velib_topics, velib_kafka, tmp_path):
    """inject= and seed= are play --inject and --seed: same seed, same faults; the ledger says what was done."""
    from helpers import topic_records

    from velib_replay.replay.ledger import read_ledger

    stations = ["16107", "32304", "14111", "32017", "8026"]
    first = velib_play(
        SAMPLE, stations=stations, inject=["drop=0.3", "duplicate=0.2"], seed=4, fault_log=tmp_path / "a"
    )
    again = velib_play(
        SAMPLE, topic=f"{velib_topics.status}-again", stations=stations, inject=["drop=0.3", "duplicate=0.2"], seed=4
    )
    assert first.faults == again.faults and first.faults["drop"] > 0 and first.faults["duplicate"] > 0
    sent = topic_records(velib_kafka, velib_topics.status)
    assert sent == topic_records(velib_kafka, f"{velib_topics.status}-again")
    faithful = velib_play(SAMPLE, topic=f"{velib_topics.status}-faithful", stations=stations).messages
    assert len(sent) == first.messages == faithful - first.faults["drop"] + first.faults["duplicate"]
    assert sorted(entry["fault"] for entry in read_ledger(tmp_path / "a").entries) == sorted(first.faults.elements())


@pytest.mark.integration
@pytest.mark.parametrize(("speed", "says"), [(0, "speed '0'"), ("fast", "speed 'fast'"), (-1.5, "speed '-1.5'")])
def test_velib_play_refuses_a_bad_speed_as_play_does(velib_play, speed, says):
    """Every speed goes through the one parser: 0 used to reach the pacing and divide by zero."""
    with pytest.raises(pytest.fail.Exception, match=f"velib_play: {re.escape(says)}"):
        velib_play(SAMPLE, speed=speed)
