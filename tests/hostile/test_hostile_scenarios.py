"""Issue 28, item 8: a scenario run always finishes its report.

A scenario that cannot run (a step that crashes) is that scenario's error, with its reason, in the table and
the JUnit XML, not an internal error that loses every verdict; SIGTERM writes what ran and exits 143.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.config import sample_recording
from velib_replay.scenario.steps import STEPS

pytestmark = pytest.mark.integration

UNJUDGED = '[[steps]]\nplay = { stations = "16107,32304", limit = 1 }\n'  # no process step: fails at once
CRASHING = '[[steps]]\nplay = { stations = "16107", limit = 1 }\n[[steps]]\nprocess = {}\n'
SLOW = '[[steps]]\nplay = { stations = "16107", limit = 3, speed = "1x" }\n[[steps]]\nprocess = {}\n'


def scenario(folder, name: str, steps: str):
    path = folder / f"{name}.toml"
    path.write_text(f'recording = "{sample_recording()}"\n{steps}')
    return str(path)


def test_a_scenario_that_errors_is_reported_with_the_others_in_the_table_and_junit(tmp_path, velib_kafka, monkeypatch):
    def crash(_stack, _params):  # a step that breaks at run time (file mistakes are refused at load)
        raise RuntimeError("the job's JVM went away")

    monkeypatch.setitem(STEPS, "process", dataclasses.replace(STEPS["process"], run=crash))
    files = [scenario(tmp_path, "a-unjudged", UNJUDGED), scenario(tmp_path, "b-crashing", CRASHING)]
    junit = tmp_path / "junit.xml"
    args = ["scenario", "run", *files, "--bootstrap-servers", velib_kafka, "--junit-xml", str(junit)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "a-unjudged" in result.output and "FAIL" in result.output and "ERROR" in result.output
    assert "b-crashing: RuntimeError: the job's JVM went away" in result.output
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "1")
    assert suite.find("testcase[@name='b-crashing']/error").get("message").startswith("RuntimeError")


def test_sigterm_writes_what_ran_and_exits_143(tmp_path, velib_kafka):
    files = [scenario(tmp_path, "a-unjudged", UNJUDGED), scenario(tmp_path, "b-slow", SLOW)]
    junit = tmp_path / "junit.xml"
    command = [sys.executable, "-m", "velib_replay", "scenario", "run", *files, "--bootstrap-servers", velib_kafka,
               "--junit-xml", str(junit)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(line.startswith("a-unjudged: fail") for line in seen):
            seen.append(process.stderr.readline())
        time.sleep(2)  # into b-slow's replay
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, "".join(seen) + stderr
    assert "a-unjudged" in stdout and "b-slow" not in stdout
    assert "Interrupted by SIGTERM after 1 of 2 scenarios" in stderr and "Aborted!" not in stderr
    assert [case.get("name") for case in ET.parse(junit).getroot()] == ["a-unjudged"]
