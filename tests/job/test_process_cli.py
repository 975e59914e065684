"""``process`` on the real broker and Spark: signals stop it cleanly, Spark's refusals come out in one line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import replay
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from velib_replay.cli import main, options
from velib_replay.job.config import QUERY_NAME

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"^Processed \d+ messages in [1-9]\d* batch\(es\), .* dropped as too late\.$", re.MULTILINE)


def process_args(bootstrap: str, names, checkpoint: Path) -> list[str]:
    return [
        "process",
        "--checkpoint",
        str(checkpoint),
        "--bootstrap-servers",
        bootstrap,
        "--topic",
        names.status,
        "--indicators-topic",
        names.indicators,
        "--quarantine-topic",
        names.quarantine,
        "--show",
        "0",
    ]


@contextmanager
def running_process(bootstrap: str, names, checkpoint: Path, *, own_group: bool = False) -> Iterator[subprocess.Popen]:
    """``python -m velib_replay process`` in a subprocess, yielded once it has committed a micro-batch."""
    command = [sys.executable, "-m", "velib_replay", *process_args(bootstrap, names, checkpoint)]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    job = subprocess.Popen(
        [*command, "--master", "local[1]", "--trigger-interval", "1 second"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_group,
    )
    try:
        commits = checkpoint / QUERY_NAME / "commits"
        deadline = time.monotonic() + 300
        while not (commits.is_dir() and any(commits.iterdir())):
            if job.poll() is not None:
                out, err = job.communicate()
                pytest.fail(f"process exited with {job.returncode} before committing a batch:\n{out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail(f"no micro-batch committed in {commits} within 300 s")
            time.sleep(0.5)
        yield job
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_job_cleanly_with_its_summary(
    signum, exit_code, sample, velib_kafka, velib_topics, checkpoint
):
    replay(sample, velib_kafka, velib_topics.status, speed=None, limit=1)
    with running_process(velib_kafka, velib_topics, checkpoint) as job:
        job.send_signal(signum)
        out, err = job.communicate(timeout=300)
    assert job.returncode == exit_code, (out, err)
    assert f"Stopped by {signum.name}: the checkpoint keeps the progress" in out
    assert SUMMARY.search(out), out
    assert "Traceback" not in err, err


@pytest.mark.slow
def test_a_sigterm_to_the_whole_process_group_stops_the_job_cleanly_and_says_so(
    sample, velib_kafka, velib_topics, checkpoint
):
    """systemd's default KillMode signals every process of the service: Spark's JVM too, which must not die first."""
    replay(sample, velib_kafka, velib_topics.status, speed=None, limit=1)
    with running_process(velib_kafka, velib_topics, checkpoint, own_group=True) as job:
        os.killpg(job.pid, signal.SIGTERM)
        out, err = job.communicate(timeout=300)
    assert job.returncode == 143, (out, err)
    assert "Stopped by SIGTERM: the checkpoint keeps the progress" in out
    assert SUMMARY.search(out), out
    assert "Traceback" not in err and not re.search("^Error: ", err, re.MULTILINE), err  # Spark's lines may say
    # that the batch in flight was cancelled: it is redone at restart


@pytest.mark.slow
def test_a_second_job_on_a_running_jobs_checkpoint_is_refused_in_one_line(
    sample, velib_kafka, velib_topics, checkpoint, velib_spark
):
    replay(sample, velib_kafka, velib_topics.status, speed=None, limit=1)
    with running_process(velib_kafka, velib_topics, checkpoint) as job:
        second = CliRunner().invoke(main, [*process_args(velib_kafka, velib_topics, checkpoint), "--once"])
        job.send_signal(signal.SIGTERM)
        job.communicate(timeout=300)
    assert second.exit_code == 1, second.output
    assert second.output == (
        f"Error: checkpoint {checkpoint} is in use by another job "
        "(stop that one, or give this one its own --checkpoint)\n"
    )
    assert job.returncode == 143


def test_a_checkpoint_under_a_regular_file_is_refused_in_one_line(velib_kafka, velib_topics, tmp_path, velib_spark):
    regular = tmp_path / "file"
    regular.write_text("not a folder")
    checkpoint = regular / "checkpoint"
    result = CliRunner().invoke(main, [*process_args(velib_kafka, velib_topics, checkpoint), "--once"])
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: cannot use checkpoint {checkpoint}: Not a directory\n"


_VALUES = st.one_of(st.integers(0, 10_000).map(str), st.decimals(0, 1000, places=3).map(str))
_UNITS = st.sampled_from(["microsecond", "millisecond", "second", "minute", "hour", "day", "week", "month", "year"])
_TERMS = st.tuples(st.integers(0, 10_000), _UNITS, st.booleans()).map(lambda t: f"{t[0]} {t[1]}{'s' * t[2]}")
_INTERVALS = st.lists(_TERMS, min_size=1, max_size=3).map(" ".join)
_ANY_TEXT = st.one_of(_INTERVALS, st.tuples(_VALUES, _UNITS).map(" ".join), st.text(max_size=12))


def spark_accepts(velib_spark, text: str) -> tuple[bool, bool]:
    """Whether Spark takes ``text`` as a watermark delay, and as a processing-time trigger."""
    results = []
    for attempt in (
        lambda: velib_spark.sql("select current_timestamp() as t").withWatermark("t", text),
        lambda: velib_spark.readStream.format("rate").load().writeStream.trigger(processingTime=text),
    ):
        try:
            attempt()
            results.append(True)
        except Exception:
            results.append(False)
    return results[0], results[1]


def accepted(kind: options.click.ParamType, text: str) -> bool:
    try:
        kind.convert(text, None, None)
    except options.click.BadParameter:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_ANY_TEXT)
def test_what_the_interval_types_accept_spark_accepts(velib_spark, text):
    """The parameter types may be stricter than Spark, never looser: what they let through, Spark takes."""
    watermark, trigger = spark_accepts(velib_spark, text)
    assert watermark or not accepted(options.SPARK_INTERVAL, text), text
    assert trigger or not accepted(options.SPARK_TRIGGER_INTERVAL, text), text


@pytest.mark.parametrize("text", ["2 hours", "5 seconds", "500 milliseconds", "1 hour 30 minutes", "1.5 seconds"])
def test_the_documented_examples_are_accepted_by_both(velib_spark, text):
    assert spark_accepts(velib_spark, text) == (True, True)
    assert accepted(options.SPARK_INTERVAL, text) and accepted(options.SPARK_TRIGGER_INTERVAL, text)


@pytest.mark.parametrize(
    ("text", "as_watermark", "as_trigger"),
    [("two hours", False, False), ("-2 hours", False, False), ("5", False, False), ("1 month", True, False)],
)
def test_what_spark_refuses_the_types_refuse(velib_spark, text, as_watermark, as_trigger):
    assert spark_accepts(velib_spark, text) == (as_watermark, as_trigger)
    assert accepted(options.SPARK_INTERVAL, text) == as_watermark
    assert accepted(options.SPARK_TRIGGER_INTERVAL, text) == as_trigger
