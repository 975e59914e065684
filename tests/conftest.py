"""Shared test fixtures. The broker, Spark and topics come from velib-replay's own pytest plugin
(``velib_kafka``, ``velib_spark``, ``velib_topics``: the fixtures users get), so the suite tests them too;
set VELIB_REPLAY_TEST_BOOTSTRAP (or pass --velib-bootstrap) to use a running broker.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from fake_api import loopback_server, scripted_api  # noqa: F401  (fixtures: api_server, api)
from hypothesis import settings

from velib_replay import config
from velib_replay.job.pipeline import fresh_topics
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka import broker, cluster
from velib_replay.recording import Recording

SAMPLE = config.sample_recording()

# Installing velib-replay registers the plugin (entry point pytest11: velib_replay); a virtualenv installed from
# a checkout older than the plugin has no entry point yet, so it is loaded here (loading it twice is an error).
PLUGIN_INSTALLED = bool(entry_points(group="pytest11", name="velib_replay"))
pytest_plugins = ["browser_fixtures"] + ([] if PLUGIN_INSTALLED else ["velib_replay.testing.plugin"])

# Property tests draw the same cases on every run, so CI is no lottery; raise max_examples locally to explore more.
settings.register_profile("velib-replay", derandomize=True, deadline=None)
settings.load_profile("velib-replay")

# The tests of Ctrl-C need SIGINT delivered: a run launched in the background of a script (`.ci/run &`, nohup)
# inherits it ignored, which velib-replay rightly respects. The whole run gets Python's usual handler back, and so
# do the commands it starts (a caught signal is reset to its default across exec; an ignored one stays ignored).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def postcodes() -> dict[str, str]:
    return load_postcodes(config.stations_table())


@pytest.fixture(scope="session")
def sample() -> Recording:
    return Recording(SAMPLE)


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.Cluster]:
    """A three-node KRaft cluster on loopback (``kafka start --nodes 3``), for the module that asks for it.

    Module-scoped: three more JVMs should not outlive the tests that kill its nodes.
    """
    instance = cluster.Cluster(tmp_path_factory.mktemp("cluster"), 3, broker.free_port())
    cluster.start(instance, timeout=240)
    yield instance
    cluster.stop(instance)


@pytest.fixture
def topics_with(velib_kafka_target):
    """Factory: fresh, unique topics with the given number of partitions."""
    return lambda partitions: fresh_topics(velib_kafka_target, partitions)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return tmp_path / "checkpoint"


# Fixtures that start (or reach) the broker or Spark: CI runs `-m "not integration"` under the oldest and newest
# Python without them, so a test asking for one unmarked would start a JVM there, or fail.
NEEDS_BROKER_OR_SPARK = {"velib_broker", "velib_kafka", "velib_spark", "kafka_cluster"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse the run when a test needs the broker or Spark but is not marked ``integration``."""
    unmarked = [
        item.nodeid
        for item in items
        if NEEDS_BROKER_OR_SPARK & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError("mark these tests integration (they need Kafka or Spark): " + ", ".join(unmarked))
