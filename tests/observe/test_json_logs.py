"""Logs a shipper can parse: with ``--log-format json`` every stderr line of ``live`` and ``process --once`` is one
JSON object, the JVM's and the client libraries' lines included; in text mode ``process`` says when its query
starts, each batch, and a batch still running (every --progress-every seconds), and nothing of the libraries'."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from velib_replay.capture.server import serve
from velib_replay.observe.logs import as_json_line

pytestmark = pytest.mark.integration


def run(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "velib_replay", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def events(stderr: str) -> list[dict]:
    """Each stderr line as JSON: a line that does not parse fails the test, naming it."""
    parsed = []
    for line in stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            pytest.fail(f"not JSON: {line!r}")
        assert isinstance(event, dict), line
        parsed.append(event)
    return parsed


def test_a_line_that_is_not_json_is_wrapped_and_one_that_is_passes_as_it_is():
    wrapped = json.loads(as_json_line("WARNING: Using incubator modules: jdk.incubator.vector"))
    assert (wrapped["level"], wrapped["logger"]) == ("warning", "stderr")
    assert wrapped["message"] == "WARNING: Using incubator modules: jdk.incubator.vector"
    assert as_json_line('{"level": "info"}') == '{"level": "info"}'
    assert json.loads(as_json_line("[1, 2]"))["message"] == "[1, 2]"  # JSON, but not an event


def test_every_stderr_line_of_live_and_process_once_is_json(sample, velib_kafka, velib_topics, tmp_path):
    kafka = ["--bootstrap-servers", velib_kafka]
    with serve(sample, speed=None, port=0).start() as server:
        url = f"{server.url}/station_status.json"
        live = run("live", "--url", url, "--info-url", "none", "--interval", "0.05", "--count", "3", *kafka,
                   "--topic", velib_topics.status, "--log-format", "json")  # fmt: skip
    assert live.returncode == 0, live.stderr
    assert {"start", "status"} <= {event.get("event") for event in events(live.stderr)}

    topics = ["--topic", velib_topics.status, "--indicators-topic", velib_topics.indicators]
    topics += ["--quarantine-topic", velib_topics.quarantine]
    job = ["process", "--once", "--show", "0", "--master", "local[1]", "--progress-every", "0.2", *kafka, *topics]
    processed = run(*job, "--checkpoint", str(tmp_path / "json"), "--log-format", "json")
    assert processed.returncode == 0, processed.stderr
    said = events(processed.stderr)
    assert {"started", "batch", "batch_running"} <= {event.get("event") for event in said}
    running = next(event for event in said if event.get("event") == "batch_running")
    assert running["batch"] == 0 and running["running_s"] >= 0.2 and 0 <= running["tasks_done"] <= running["tasks"]
    assert any(event.get("logger") == "stderr" for event in said)  # the JVM's own lines, caught and wrapped

    text = run(*job, "--checkpoint", str(tmp_path / "text"))
    assert text.returncode == 0, text.stderr
    lines = text.stderr.splitlines()
    assert any("query job started" in line for line in lines), text.stderr
    assert any(" batch 0 of job: " in line for line in lines), text.stderr
    assert any(re.search(r" batch 0 of job still running: \d+ s, \d+ of \d+ tasks done$", line) for line in lines)
