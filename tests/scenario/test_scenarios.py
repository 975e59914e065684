"""Scenario files: loading refuses mistakes up front; the shipped ``scenarios/`` all pass on the real stack."""

from __future__ import annotations

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
CHECKS = {name: kind.check for name, kind in STEPS.items()}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(f'recording = "{SAMPLE}"\n' + text)
    return path


def test_a_scenario_loads_with_its_steps_and_expectations(tmp_path):
    text = "[[steps]]\nplay = { limit = 2 }\n[[steps]]\nprocess = {}\n[expect]\nlate = 0\n"
    scenario = load(write(tmp_path, text), CHECKS)
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
        ("[[steps]]\nplay = { limt = 2 }\n", "step 1 (play): unknown parameter 'limt'"),
        ("[[steps]]\nplay = { inject = ['drop=2'] }\n", "step 1 (play): fault 'drop=2'"),
        ("[[steps]]\nplay = { inject = ['drop=0.1', 'drop=0.2'] }\n", "step 1 (play): drop is given twice"),
        ("[[steps]]\nplay = { speed = 0 }\n", "step 1 (play): speed '0'"),
        ("[[steps]]\nplay = { start = 'soon' }\n", "step 1 (play): offset 'soon'"),
        ("[[steps]]\nlive = { inject = ['eror=0.1'] }\n", "step 1 (live): fault 'eror=0.1': unknown kind"),
        ("[[steps]]\nkill_job = { after_batches = 0 }\n", "step 1 (kill_job): after_batches = 0"),
        ("[[steps]]\nseek = {}\n", "step 1 (seek): seek needs to = an offset"),
        ("[[steps]]\nplay = { control = 'yes' }\n", "step 1 (play): control = 'yes'"),
        ("[[steps]]\nprocess = { once = true }\n", "step 1 (process): unknown parameter 'once'"),
        ("[job]\nwatermark = '2 hourz'\n[[steps]]\nprocess = {}\n", "interval '2 hourz'"),
        ("partitions = 0\n[[steps]]\nprocess = {}\n", "partitions = 0"),
        ("[expect]\nindicators = 'nowhere.jsonl'\n[[steps]]\nprocess = {}\n", "no golden file"),
    ],
)
def test_mistakes_are_one_line_naming_the_file(tmp_path, text, message):
    with pytest.raises(UserError, match=re.escape(message)) as error:
        load(write(tmp_path, text), CHECKS)
    assert str(error.value).startswith(str(tmp_path / "case.toml"))


def test_a_recording_that_is_not_one_is_refused_on_load(tmp_path):
    path = tmp_path / "case.toml"
    path.write_text(f'recording = "{tmp_path}"\n[[steps]]\nprocess = {{}}\n')
    with pytest.raises(UserError, match="not a recording"):
        load(path, CHECKS)


def test_a_typo_in_step_3_fails_before_any_broker_or_spark_starts(tmp_path):
    good = write(tmp_path, "[[steps]]\nplay = { limit = 1 }\n[[steps]]\nprocess = {}\n")
    bad = tmp_path / "typo.toml"
    steps = "[[steps]]\nplay = { limit = 1 }\n[[steps]]\nprocess = {}\n[[steps]]\nplay = { inject = ['drpo=0.1'] }\n"
    bad.write_text(f'recording = "{SAMPLE}"\n' + steps)

    def no_spark():
        raise AssertionError("Spark started before every file was checked")

    with pytest.raises(UserError, match=r"typo\.toml: step 3 \(play\): fault 'drpo=0\.1': unknown kind"):
        run_scenarios([good, bad], spark=no_spark)  # no servers given: a broker would start after the checks


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


# a killed job restarts Spark's query from its checkpoint: half a minute each (test_robustness kills one in CI)
RESTARTS_THE_JOB = {"09-job-killed", "11-held-while-job-killed"}


@pytest.mark.integration
@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if path.stem in RESTARTS_THE_JOB else [])
        for path in scenario_files([SHIPPED])
    ],
)
def test_every_shipped_scenario_passes(request, velib_kafka, velib_spark, path):
    """``scenario run`` of each shipped scenario on the shared broker (restarted by one scenario) and Spark session."""
    broker = request.getfixturevalue("velib_broker")
    if broker is None:  # --velib-bootstrap, or attached to a test environment
        pytest.skip("a scenario restarts the broker: needs the embedded one")
    (result,) = run_scenarios([path], broker=broker, spark=lambda: velib_spark)
    assert result.passed, result.problems


@pytest.mark.parametrize("kind", ["step", "seek", "pause", "resume"])
def test_driving_steps_without_a_controlled_play_say_so(tmp_path, kind):
    params = "{ to = '1m' }" if kind == "seek" else "{}"
    scenario = load(write(tmp_path, f"[[steps]]\n{kind} = {params}\n"), CHECKS)
    stack = Stack(scenario, None, tmp_path, spark=lambda: None, broker=None)
    with pytest.raises(UserError, match="drive a play started with control = true: there is none"):
        STEPS[kind].run(stack, scenario.steps[0].args)
