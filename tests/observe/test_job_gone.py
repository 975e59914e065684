"""Issue 28, item 3: ``process``'s /healthz turns 503 as soon as its query is gone, not when the listener hears of it.

A query whose JVM is killed never reports its end to the listener; the health check asks the query itself.
A real ``process`` whose JVM is killed turns 503 at once, then exits 1 naming the cause in one line.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from observed_process import Observed

from velib_replay.observe.health import verdict
from velib_replay.observe.job_metrics import JobObserver


@pytest.mark.integration
def test_health_turns_503_once_the_query_is_gone(velib_spark):
    observer = JobObserver("unused", lambda _topic: {})
    checks = observer.serving_health(max_lag=10).checks
    query = velib_spark.readStream.format("rate").load().writeStream.format("noop").start()
    observer.listener.query = query
    try:
        assert verdict(checks)[0] == 200
    finally:
        query.stop()
    assert verdict(checks) == (503, b'{"status": "unhealthy", "reason": "the query is not running"}\n')


def java_children(pid: int) -> list[int]:
    """The java processes among ``pid``'s children (pyspark's gateway: spark-submit execs the JVM), from /proc."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return [child for child in children if Path(f"/proc/{child}/comm").read_text().strip() == "java"]


@pytest.mark.integration
@pytest.mark.slow
def test_a_killed_jvm_turns_health_503_at_once_and_process_exits_naming_it(velib_kafka, velib_topics, checkpoint):
    names = velib_topics
    job = Observed(
        "process", "--checkpoint", str(checkpoint), "--bootstrap-servers", velib_kafka, "--topic", names.status,
        "--indicators-topic", names.indicators, "--quarantine-topic", names.quarantine, "--show", "0",
        "--master", "local[1]", "--trigger-interval", "1 second",
    )  # fmt: skip
    try:
        job.until(lambda: any(event.get("event") == "started" for event in job.events()), "the query", timeout=300)
        assert job.health() == (200, {"status": "ok"})
        (jvm,) = java_children(job.process.pid)
        os.kill(jvm, signal.SIGKILL)
        killed = time.monotonic()
        job.until(lambda: job.health()[0] == 503, "an unhealthy /healthz", timeout=5)
        seen_after = time.monotonic() - killed
        assert job.process.wait(timeout=60) == 1
    finally:
        if job.process.poll() is None:
            job.process.kill()
    assert seen_after < 5
    messages = [event["message"] for event in job.events()]
    errors = [message for message in messages if message.startswith("Error: ")]
    assert len(errors) == 1, job.lines
    assert errors[0].startswith("Error: the job stopped unexpectedly: Spark's JVM is gone ("), errors
    assert errors[0].endswith(": killed, or it ended on its own)"), errors
    assert not any("Traceback" in message for message in messages), job.lines
