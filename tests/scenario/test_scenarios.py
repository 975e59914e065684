"""Scenario files: loading refuses mistakes up front; the shipped ``scenarios/`` all pass on the real stack."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import SAMPLE

from velib_replay.errors import UserError
from velib_replay.scenario.report import rows, write_junit
from velib_replay.scenario.runner import Result, run_scenarios
from velib_replay.scenario.spec import load, scenario_files
from velib_replay.scenario.steps import STEPS, Stack

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"
KINDS = frozenset(STEPS)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(f'recording = "{SAMPLE}"\n' + text)
    return path


def test_a_scenario_loads_with_its_steps_and_expectations(tmp_path):
    text = "[[steps]]\nplay = { limit = 2 }\n[[steps]]\nprocess = {}\n[expect]\nlate = 0\n"
    scenario = load(write(tmp_path, text), KINDS)
    assert [step.kind for step in scenario.steps] == ["play", "process"]
    assert (scenario.name, scenario.late, scenario.golden, scenario.recording) == ("case", 0, None, SAMPLE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[steps]]\nfly = {}\n", "unknown step 'fly'"),
        ("[[steps]]\nplay = {}\nprocess = {}\n", "each [[steps]] entry is one step"),
        ("[expect]\nlate = 0\n", "no [[steps]]"),
        ("[job]\nspeed = 1\n[[steps]]\nprocess = {}\n", "unknown [job] option 'speed'"),
        ("[[steps]\n", "not TOML"),
    ],
)
def test_mistakes_are_one_line_naming_the_file(tmp_path, text, message):
    with pytest.raises(UserError, match=re.escape(message)) as error:
        load(write(tmp_path, text), KINDS)
    assert str(error.value).startswith(str(tmp_path / "case.toml"))


def test_report_rows_and_junit(tmp_path):
    results = [Result("ok", 10, seconds=1.25), Result("bad", 5, problems=["quarantined: expected 1, got 0"])]
    results[0].faults.update({"drop": 2, "duplicate": 1})
    assert rows(results) == [["ok", 10, "drop 2, duplicate 1", "pass", "1.2"], ["bad", 5, "-", "FAIL", "0.0"]]
    write_junit(results, tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert suite.find("testcase[@name='bad']/failure").get("message") == "quarantined: expected 1, got 0"


def test_the_shipped_scenarios_are_at_least_eight_and_say_what_they_prove():
    files = scenario_files([SHIPPED])
    assert len(files) >= 8
    assert all(path.read_text().startswith("# ") for path in files)


@pytest.mark.integration
def test_every_shipped_scenario_passes(request, velib_kafka, velib_spark):
    """``scenario run scenarios/`` on the shared broker (restarted by one scenario) and Spark session."""
    if os.environ.get("VELIB_REPLAY_TEST_BOOTSTRAP"):
        pytest.skip("a scenario restarts the broker: needs the embedded one")
    broker = request.getfixturevalue("velib_broker")
    results = run_scenarios(scenario_files([SHIPPED]), broker=broker, spark=lambda: velib_spark)
    assert [(r.name, r.problems) for r in results if not r.passed] == []
    assert sum(r.faults.total() for r in results) > 0


@pytest.mark.parametrize("kind", ["step", "seek", "pause", "resume"])
def test_driving_steps_without_a_controlled_play_say_so(tmp_path, kind):
    scenario = load(write(tmp_path, f"[[steps]]\n{kind} = {{}}\n"), KINDS)
    stack = Stack(scenario, None, tmp_path, spark=lambda: None, broker=None)
    with pytest.raises(UserError, match="drive a play started with control = true: there is none"):
        STEPS[kind](stack, {"to": "1m"})
