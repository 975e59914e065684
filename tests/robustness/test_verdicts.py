"""Verdicts and reports from runs' outputs, without Kafka or Spark: what each kind of change is called."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from velib_replay.robustness.catalogue import BY_NAME, parse_fault_names
from velib_replay.robustness.matrix import Matrix, Run, judged
from velib_replay.robustness.report import notes, rows, write_json, write_junit

BASELINE = Run(latest={"75001": {"postcode": "75001", "bikes": 10, "messages": 4}, "null": {"bikes": 2, "messages": 1}})


def run(latest=None, failure=None) -> Run:
    return Run(latest=BASELINE.latest if latest is None else latest, failure=failure, faulted=3)


def test_same_output_is_robust_and_more_of_it_is_sensitive_with_the_cause():
    assert judged(BY_NAME["duplicate"], BASELINE, run()).verdict == "robust"
    grown = run({**BASELINE.latest, "75001": {"postcode": "75001", "bikes": 13, "messages": 6}})
    row = judged(BY_NAME["duplicate"], BASELINE, grown)
    assert (row.verdict, row.keys_changed, row.keys_total) == ("sensitive", 1, 2)
    assert row.largest == {"bikes": 3, "messages": 2}
    assert row.cause == "output grows: the job does not deduplicate on (station, snapshot time)"
    shrunk = run({**BASELINE.latest, "75001": {"postcode": "75001", "bikes": 9, "messages": 4}})
    assert judged(BY_NAME["duplicate"], BASELINE, shrunk).cause == "output shrinks"  # no evidence of double counting


def test_a_lossy_fault_reports_what_changed_and_flags_failures_and_silence():
    lost = judged(BY_NAME["drop"], BASELINE, run({"75001": {"postcode": "75001", "bikes": 9, "messages": 3}}))
    assert (lost.verdict, lost.cause, lost.largest) == (
        "changed",
        "output shrinks, 1 key lost",
        {"bikes": -1, "messages": -1},
    )
    assert judged(BY_NAME["drop"], BASELINE, run()).verdict == "unchanged"
    assert judged(BY_NAME["corrupt"], BASELINE, run(failure="Malformed JSON")).verdict == "failed"
    assert judged(BY_NAME["corrupt"], BASELINE, run(latest={})).verdict == "stopped"


def test_json_and_junit_say_the_same_as_the_table(tmp_path):
    grown = run({**BASELINE.latest, "null": {"bikes": 4, "messages": 2}})
    matrix = Matrix(
        {
            "duplicate": judged(BY_NAME["duplicate"], BASELINE, grown),
            "reorder": judged(BY_NAME["reorder"], BASELINE, run()),
            "corrupt": judged(BY_NAME["corrupt"], BASELINE, run(failure="Malformed JSON")),
        },
        baseline_keys=2,
        baseline_seconds={"replay": 1.0, "job": 20.0, "compare": 0.1},
        seconds=60.0,
    )
    assert [cells[-1] for cells in rows(matrix)] == ["sensitive", "robust", "failed"]
    assert notes(matrix)[-1].startswith("took 60 s: baseline 21 s; per fault (mean) replay")
    write_json(matrix, tmp_path / "m.json")
    assert [row["verdict"] for row in json.loads((tmp_path / "m.json").read_text())["rows"]] == [
        "sensitive",
        "robust",
        "failed",
    ]
    write_junit(matrix, tmp_path / "m.xml", "job.py:start")
    suite = ElementTree.parse(tmp_path / "m.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    assert [case.get("name") for case in suite if case.find("failure") is not None] == ["duplicate", "corrupt"]


def test_fault_names_parse_in_the_catalogue_order_and_unknown_ones_are_named():
    assert parse_fault_names("drop, duplicate") == ("duplicate", "drop")
    with pytest.raises(ValueError, match="unknown fault 'flood': use some of duplicate, reorder"):
        parse_fault_names("duplicate,flood")
