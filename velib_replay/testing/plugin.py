"""The pytest plugin (entry point ``pytest11: velib_replay``): a real broker, real Spark and recorded traffic
as fixtures, and golden files with an update switch, for testing any pipeline in its own repository.

One broker and one SparkSession serve the whole test session; each test gets its own topics, so tests
never see each other's data. While a test environment is up (``velib-replay testenv start``), both are its own:
no start-up to pay. Public interface: the ``--velib-*`` options and the ``velib_*`` fixtures.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from velib_replay import config, units
from velib_replay.contracts.messages import parse_station_filter
from velib_replay.errors import UserError
from velib_replay.job.config import JobSummary
from velib_replay.job.pipeline import PipelineTopics, fresh_topics
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka import broker, client_config
from velib_replay.kafka.broker import Broker
from velib_replay.kafka.client_config import ClientConfig, KafkaTarget
from velib_replay.recording import Recording
from velib_replay.replay.faults import parse_fault
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import PlayStats, nothing_to_send, replay_delivered
from velib_replay.testing import testenv
from velib_replay.testing.golden import GoldenMismatch, Rows, check_golden
from velib_replay.verify.keys import parse_key_fields
from velib_replay.verify.reference import over_recording
from velib_replay.verify.topic import read_latest

BOOTSTRAP_ENV = f"{config.ENV_PREFIX}_TEST_BOOTSTRAP"
KAFKA_CONFIG_ENV = f"{config.ENV_PREFIX}_TEST_KAFKA_CONFIG"
BROKER_START_S = 120.0
WRITTEN = pytest.StashKey[list[str]]()
TESTENV = pytest.StashKey["testenv.TestEnv | None"]()
GOLDEN_WRITERS = pytest.StashKey[dict[Path, str]]()  # golden file → the test that wrote it this session
KAFKA_SETTINGS = pytest.StashKey[ClientConfig]()  # --velib-kafka-config, loaded


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("velib-replay", "velib-replay: recorded traffic through real Kafka and Spark")
    group.addoption(
        "--velib-bootstrap",
        metavar="HOST:PORT",
        default=os.environ.get(BOOTSTRAP_ENV),
        help=f"Use this running Kafka broker instead of starting an embedded one for the session "
        f"(env: {BOOTSTRAP_ENV}).",
    )
    group.addoption(
        "--velib-no-testenv",
        action="store_true",
        help="Start this run's own broker and SparkSession even while a test environment is up (`velib-replay"
        " testenv`): for tests that need a classic SparkSession (SparkContext, RDDs).",
    )
    group.addoption(
        "--velib-kafka-config",
        metavar="FILE",
        default=os.environ.get(KAFKA_CONFIG_ENV),
        help="Kafka client properties file for a secured --velib-bootstrap broker (security.protocol, sasl.mechanism, "
        f"sasl.jaas.config, ssl.*), as velib-replay's --kafka-config takes it (env: {KAFKA_CONFIG_ENV}).",
    )
    group.addoption(
        "--velib-update-golden",
        action="store_true",
        help="velib_golden writes the golden files from the rows instead of comparing with them.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[WRITTEN] = []
    config.stash[TESTENV] = None if config.getoption("velib_no_testenv") else testenv.status(testenv.default_dir())
    config.stash[GOLDEN_WRITERS] = {}
    path = config.getoption("velib_kafka_config")
    try:  # checked before any test runs; velib_kafka_target carries it to every client the fixtures build
        config.stash[KAFKA_SETTINGS] = client_config.load(Path(path)) if path else ClientConfig()
    except UserError as error:
        raise pytest.UsageError(f"--velib-kafka-config: {error}") from None


def pytest_report_header(config: pytest.Config) -> str:
    running = config.stash.get(TESTENV, None)
    if running is None:
        why = "--velib-no-testenv" if config.getoption("velib_no_testenv") else "no test environment up"
        return f"velib-replay: {why}: this run starts its own broker and SparkSession"
    kafka = "--velib-bootstrap" if config.getoption("velib_bootstrap") else running.bootstrap_servers
    header = f"velib-replay: attached to the test environment in {running.folder} (Kafka {kafka}, Spark Connect"
    elsewhere = running.workdir != Path.cwd()
    return f"{header} {running.spark_address}{f', relative paths from {running.workdir}' if elsewhere else ''})"


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    written = config.stash.get(WRITTEN, [])
    if written:
        terminalreporter.section("velib-replay golden files")
        for line in written:
            terminalreporter.write_line(line)


@contextlib.contextmanager
def _failing_on_user_errors() -> Iterator[None]:
    """A UserError (no broker, bad recording) fails the test with its one line, not a traceback."""
    try:
        yield
    except UserError as error:
        message = str(error)
    else:
        return
    pytest.fail(message, pytrace=False)  # outside the except block: no "during handling" chain in the report


@pytest.fixture(scope="session")
def velib_broker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker | None]:
    """The embedded broker the session started (None with ``--velib-bootstrap`` or a test environment): for tests
    that restart it."""
    if request.config.getoption("velib_bootstrap") or request.config.stash[TESTENV] is not None:
        yield None
        return
    embedded = broker.on_free_ports(tmp_path_factory.mktemp("velib-kafka"))
    with _failing_on_user_errors():
        broker.start(embedded, timeout=BROKER_START_S)
    try:
        yield embedded
    finally:
        broker.stop(embedded)


@pytest.fixture(scope="session")
def velib_kafka(request: pytest.FixtureRequest, velib_broker: Broker | None) -> str:
    """The bootstrap servers of the session's broker: ``--velib-bootstrap``, else the test environment's, else an
    embedded one."""
    if velib_broker is not None:
        return velib_broker.bootstrap_servers
    return request.config.getoption("velib_bootstrap") or request.config.stash[TESTENV].bootstrap_servers


@pytest.fixture(scope="session")
def velib_kafka_target(request: pytest.FixtureRequest, velib_kafka: str) -> KafkaTarget:
    """The session's broker as velib-replay's functions take it: ``velib_kafka`` with ``--velib-kafka-config``."""
    return KafkaTarget(velib_kafka, request.config.stash[KAFKA_SETTINGS])


@pytest.fixture(scope="session")
def velib_spark(request: pytest.FixtureRequest):
    """A SparkSession with the Kafka connector; one already active (a user's own) is used and left running.
    With a test environment up: a Spark Connect session of its server, released at the end."""
    from pyspark.sql import SparkSession

    from velib_replay.job.session import spark_session

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    running = request.config.stash[TESTENV]
    with _failing_on_user_errors():
        session = testenv.attach(running) if running is not None else spark_session(testenv.SPARK_MASTER)
    yield session
    session.stop()


@pytest.fixture
def velib_topics(velib_kafka_target: KafkaTarget) -> PipelineTopics:
    """Fresh topics for this test, created: ``.status``, ``.indicators``, ``.quarantine``."""
    with _failing_on_user_errors():
        return fresh_topics(velib_kafka_target)


@pytest.fixture
def velib_play(velib_kafka_target: KafkaTarget, velib_topics: PipelineTopics) -> Callable[..., PlayStats]:
    """``velib_play(recording, topic=None, speed="max", stations=None, inject=(), seed=0, fault_log=None)``: replay a
    recording (to ``velib_topics.status`` by default), with ``play --inject`` faults drawn from ``seed`` and logged to
    ``fault_log``, and return its statistics; fails unless every message was delivered."""

    def play(
        recording: str | Path | Recording,
        topic: str | None = None,
        speed: str | float = config.TEST_SPEED,
        stations: str | Iterable[str] | None = None,
        inject: Sequence[str] = (),
        seed: int = 0,
        fault_log: str | Path | None = None,
    ) -> PlayStats:
        def parsed() -> PlayOptions:  # the CLI's own parsers: velib_play(speed=0) is refused as play's
            plan = ReplayPlan(units.parse_speed(str(speed)), _stations(stations))
            log = Path(fault_log) if fault_log is not None else None
            return PlayOptions(plan, tuple(parse_fault(spec) for spec in inject), seed=seed, fault_log=log)

        options = _checked("velib_play", None, lambda _: parsed())
        with _failing_on_user_errors():
            stats = replay_delivered(_recording(recording), velib_kafka_target, topic or velib_topics.status, options)
        if not stats.messages:  # as `play` says it: a selection that sends nothing is an error, not a pass
            nothing = nothing_to_send(options.plan.wanted, all_invalid=stats.skipped_invalid > 0)
            pytest.fail(f"nothing was sent: {nothing}", pytrace=False)
        return stats

    return play


@pytest.fixture
def velib_run_job(velib_spark, velib_topics: PipelineTopics, tmp_path: Path):
    """``velib_run_job(**JobConfig fields)``: velib-replay's own job, once over ``velib_topics``; its summary."""
    from velib_replay.job.runner import run_once

    def run(**overrides: Any) -> JobSummary:
        cfg = velib_topics.job_config(**({"checkpoint": tmp_path / "velib-checkpoint"} | overrides))
        with _failing_on_user_errors():
            return run_once(cfg, velib_spark)

    return run


@pytest.fixture
def velib_latest(velib_kafka_target: KafkaTarget) -> Callable[..., dict[str, Any]]:
    """``velib_latest(topic, key=None)``: the latest value per key, parsed; ``key`` names value fields that make
    the key, for topics written without Kafka keys. Fails when any latest value is unreadable."""

    def latest(topic: str, key: Sequence[str] | str | None = None) -> dict[str, Any]:
        fields = _key(key)
        with _failing_on_user_errors():
            contents = read_latest(velib_kafka_target, topic, key_fields=fields)
        doubt = contents.doubt()
        if doubt:
            pytest.fail(f"{topic}: {contents.unreadable_summary()}: {doubt}", pytrace=False)
        return contents.latest

    return latest


@pytest.fixture
def velib_robustness(velib_spark, velib_kafka_target: KafkaTarget, velib_broker: Broker | None, tmp_path: Path):
    """``velib_robustness(job, recording, key=None, faults=None, seed=0, stations=None)``: the robustness matrix of
    ``job`` (a function with the job signature, or ``"path/file.py:function"``), as ``velib-replay robustness``
    prints it; ``matrix["duplicate"].verdict == "robust"``. ``key`` names the fields keying unkeyed output."""
    from velib_replay.robustness.catalogue import parse_fault_names
    from velib_replay.robustness.matrix import Matrix, Setting, run_matrix
    from velib_replay.robustness.user_job import load_job

    def matrix(
        job: Callable[..., Any] | str,
        recording: str | Path | Recording,
        key: Sequence[str] | str | None = None,
        faults: Sequence[str] | str | None = None,
        seed: int = 0,
        stations: str | Iterable[str] | None = None,
    ) -> Matrix:
        fields = None if key is None else (key,) if isinstance(key, str) else tuple(key)
        try:
            names = (
                None if faults is None else parse_fault_names(faults if isinstance(faults, str) else ",".join(faults))
            )
        except ValueError as error:
            pytest.fail(f"velib_robustness(faults=...): {error}", pytrace=False)
        setting = Setting(
            velib_spark, velib_kafka_target, tmp_path / "robustness", velib_broker, fields, seed, _stations(stations)
        )
        with _failing_on_user_errors():
            function = load_job(job) if isinstance(job, str) else job
            return run_matrix(function, _recording(recording), setting, names)

    return matrix


@pytest.fixture
def velib_expected() -> Callable[..., dict[str, Any]]:
    """``velib_expected(recording, stations=None, passes=1, stations_table=None)``: the reference indicators
    (the independent plain-Python computation) a faithful pipeline gives over a recording."""

    def expected(
        recording: str | Path | Recording,
        stations: str | Iterable[str] | None = None,
        passes: int = 1,
        stations_table: str | Path | None = None,
    ) -> dict[str, Any]:
        with _failing_on_user_errors():
            postcodes = load_postcodes(Path(stations_table) if stations_table else config.stations_table())
            return over_recording(_recording(recording), postcodes, wanted=_stations(stations), passes=passes)

    return expected


@pytest.fixture
def velib_golden(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``velib_golden(path, rows, key=None, limit=20)``: compare rows with a golden file (relative to the test
    file's folder), or write it with ``--velib-update-golden``. Fails with a diff of at most ``limit`` per kind."""
    update = request.config.getoption("velib_update_golden")

    def golden(path: str | Path, rows: Rows, key: Sequence[str] | str | None = None, limit: int = 20) -> None:
        where = request.path.parent / path
        fields = _key(key)
        if update:  # two tests writing one file would leave whichever ran last, silently
            writer = request.config.stash[GOLDEN_WRITERS].setdefault(where.resolve(), request.node.nodeid)
            if writer != request.node.nodeid:
                pytest.fail(f"golden file {where} is written by two tests: {writer} and {request.node.nodeid}; "
                            "give each test its own file", pytrace=False)  # fmt: skip
        try:
            done = check_golden(where, rows, key=fields, update=update, limit=limit)
        except (GoldenMismatch, UserError) as error:
            done = error
        if isinstance(done, Exception):
            pytest.fail(str(done), pytrace=False)  # outside the except block: the diff alone, shown once
        if update:
            request.config.stash[WRITTEN].append(f"{request.node.nodeid}: {done}")

    return golden


def _recording(recording: str | Path | Recording) -> Recording:
    return recording if isinstance(recording, Recording) else Recording(Path(recording))


def _checked(what: str, value: Any, parse: Callable[[Any], Any]) -> Any:
    """``parse(value)`` with the CLI's own parser; its ValueError fails the test in one line naming the argument."""
    try:
        return parse(value)
    except (ValueError, TypeError) as error:
        message = f"{what}: {error}" if value is None else f"{what}={value!r}: {error}"
    pytest.fail(message, pytrace=False)  # outside the except block: no "during handling" chain in the report


def _stations(stations: str | Iterable[str] | None) -> frozenset[str] | None:
    """As ``--stations``: ``all``, ``16107,32017``, or an iterable of station codes (strings)."""

    def parse(value: str | Iterable[str] | None) -> frozenset[str] | None:
        if value is None or isinstance(value, str):
            return parse_station_filter(value)
        codes = list(value) if isinstance(value, Iterable) else []
        if not codes or not all(isinstance(code, str) and code.strip() for code in codes):
            raise ValueError("give station codes as non-empty strings, such as ['16107', '32017']")
        return parse_station_filter(",".join(codes))

    return _checked("stations", stations, parse)


def _key(key: Sequence[str] | str | None) -> tuple[str, ...] | None:
    """As ``--key-fields``: ``postcode``, ``snapshot_time,postcode`` or a sequence of field names."""

    def parse(value: Sequence[str] | str | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_key_fields(value)
        names = list(value) if isinstance(value, Iterable) else []
        if not names or not all(isinstance(name, str) for name in names):
            raise ValueError("give field names as strings, such as 'postcode' or ['snapshot_time', 'postcode']")
        return parse_key_fields(",".join(names))

    return _checked("key", key, parse)
