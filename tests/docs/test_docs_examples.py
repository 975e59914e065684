"""The shell examples of the docs run as written: every ``velib-replay`` line of a ```bash block in README.md and
docs/*.md (see example_lines), in page order, in a folder of its own per page holding a copy of the sample.

The settings a user would have in their environment point at the test's resources: the sample served as the API
over loopback (``record``, ``live``), fresh topics and a checkpoint on the suite's broker. Lines that need no
Kafka and no Spark (``--help``, ``--dry-run``, ``info``, ``convert``, ``simulate``, ``record``, ``report`` of a
recording) run in CI's main run in seconds; the rest run against the suite's broker and Spark (integration). A
few are not run, each with its reason in NOT_RUN; every other line runs, so a new example runs unless listed."""

from __future__ import annotations

import re
import shlex
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from example_lines import DOC_PAGES, doc_examples

from velib_replay.capture.server import serve
from velib_replay.cli import main
from velib_replay.kafka import broker
from velib_replay.recording import Recording

# Lines not run, and why: the first pattern (a regular expression searched in the line) that matches.
NOT_RUN = [
    (r" &$", "started in the background beside another command, on a fixed port"),
    (r"PORT|kafka\.example\.com|spark://", "names a broker, Spark master or port of your own"),
    (r"^velib-replay kafka ", "starts or stops a broker of its own, a JVM (tests/kafka; test_help_examples, slow)"),
    (r"^velib-replay testenv ", "a broker and a Spark Connect server of its own: a minute to start (tests/testing)"),
    (r"^velib-replay demo", "the whole pipeline on a broker of its own (tests/cli/test_demo.py)"),
    (r"^velib-replay setup", "resolves the jars from Maven Central the first time (tests/cli/test_setup.py)"),
    (r"^velib-replay robustness ", "eleven runs of the job: minutes (tests/robustness)"),
    (r"^velib-replay scenario run ", "a broker and Spark of its own (tests/scenario runs the shipped scenarios)"),
    (r"^velib-replay (serve|dashboard)", "serves until stopped (test_help_examples starts and stops it, slow)"),
    (r"--replication 3", "three brokers (tests/kafka/test_cluster.py)"),
    (r"--control", "a replay driven by hand (tests/replay and tests/browser drive it)"),
    (r"^velib-replay live (?!.*--count)", "polls until stopped"),
    (r"^velib-replay play (?!.*--dry-run)(?!.*--speed max)", "paced in wall time: 10 s at 60x, a minute at 10x"),
    (
        r"^velib-replay report --from-topic recordings/",
        "the indicators of a job run earlier (commands.md's runs after process)",
    ),
    (r"/tmp/bad-day", "the bad API day: live against the faulty serve started in the background"),
]
NO_KAFKA = re.compile(
    r"--help|--dry-run|^velib-replay (info|convert|simulate|record) |^velib-replay report (?!.*--from)"
)


def not_run(line: str) -> str | None:
    """Why ``line`` is not run, or None."""
    return next((why for pattern, why in NOT_RUN if re.search(pattern, line)), None)


def runnable(page: Path, *, kafka: bool) -> list[str]:
    """The page's lines to run: those needing no Kafka, or (``kafka``) every line not in NOT_RUN."""
    return [line for line in doc_examples(page) if not not_run(line) and (kafka or NO_KAFKA.search(line))]


@contextmanager
def user_folder(tmp_path: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A folder with the sample in it, and the environment pointing at the sample served as the API."""
    (tmp_path / "recordings").mkdir()
    shutil.copytree(SAMPLE, tmp_path / "recordings" / "sample")
    api = serve(Recording(SAMPLE), speed=None, port=0, loop=True)
    with api.start():
        yield env | {
            "VELIB_REPLAY_STATUS_URL": f"{api.url}/station_status.json",
            "VELIB_REPLAY_INFO_URL": f"{api.url}/station_information.json",
            "VELIB_REPLAY_REPORTS_DIR": str(tmp_path / "reports"),
        }


def run_lines(lines: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.chdir(folder)
    for line in lines:
        own = {"VELIB_REPLAY_STATUS_TOPIC": f"{env['VELIB_REPLAY_STATUS_TOPIC']}-live"} if " live " in line else {}
        result = CliRunner(env=env | own).invoke(main, shlex.split(line)[1:], catch_exceptions=False)
        assert result.exit_code == 0, f"{line}\n{result.output}"


def test_each_reason_not_to_run_still_names_an_example():
    lines = [line for page in DOC_PAGES for line in doc_examples(page)]
    assert [pattern for pattern, _ in NOT_RUN if not any(re.search(pattern, line) for line in lines)] == []


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda page: page.name)
def test_the_examples_that_need_no_kafka_run_as_written(page, tmp_path, monkeypatch):
    lines = runnable(page, kafka=False)
    unused = f"127.0.0.1:{broker.free_port()}"  # play --dry-run asks a broker, and says so when none answers
    env = {"VELIB_REPLAY_BOOTSTRAP_SERVERS": unused, "VELIB_REPLAY_STATUS_TOPIC": "velib-projet"}
    with user_folder(tmp_path, env) as settings:
        run_lines(lines, settings, monkeypatch, tmp_path)


@pytest.mark.integration
@pytest.mark.parametrize(
    "page",
    [  # README's tour in CI; the docs pages, each a process --once at least (Spark's batches), with the slow tests
        pytest.param(page, id=page.name, marks=[] if page.name == "README.md" else [pytest.mark.slow])
        for page in DOC_PAGES
    ],
)
def test_the_examples_run_as_written_on_the_real_broker_and_spark(
    page, velib_kafka, velib_spark, tmp_path, monkeypatch
):
    lines = runnable(page, kafka=True)
    suffix = uuid.uuid4().hex[:8]
    env = {
        "VELIB_REPLAY_BOOTSTRAP_SERVERS": velib_kafka,
        "VELIB_REPLAY_STATUS_TOPIC": f"docs-{suffix}",
        "VELIB_REPLAY_INDICATORS_TOPIC": f"docs-{suffix}-indicators",
        "VELIB_REPLAY_QUARANTINE_TOPIC": f"docs-{suffix}-quarantine",
        "VELIB_REPLAY_CHECKPOINT": str(tmp_path / "checkpoint"),
    }
    with user_folder(tmp_path, env) as settings:
        run_lines(lines, settings, monkeypatch, tmp_path)
