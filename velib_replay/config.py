"""Defaults shared by every stage, in one place so the CLI, the tests and the docs agree.

Every CLI option that has an environment fallback names its ``VELIB_REPLAY_<NAME>`` variable itself
(``cli.options.env``, shown by ``--help``); the constants here are the values used when neither is given,
chosen to work on the embedded single-node setup.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_PREFIX = "VELIB_REPLAY"

STATUS_TOPIC = "velib-projet"
INDICATORS_TOPIC = "velib-projet-final-data"
QUARANTINE_TOPIC = "velib-projet-quarantine"
BOOTSTRAP_SERVERS = "localhost:9092"
KAFKA_PORT = 9092
BOOTSTRAP_TIMEOUT_MS = 10_000  # how long a client waits for an unreachable broker before saying so
REFUSAL_PROBE_S = 1.0  # s: a bootstrap address that neither accepts nor refuses by then is left to the client
DELIVERY_WAIT_S = 120.0  # how long a publisher waits for an unreachable broker before counting messages as failed

SPARK_MASTER = "local[*]"
WATERMARK = "2 hours"  # how late, in feed time, a station message may arrive and still count
TRIGGER_INTERVAL = "5 seconds"
BATCH_PROGRESS_EVERY_S = 10.0  # `process`: a batch running longer says how far it has got, every this many seconds

# --speed, one default per kind of caller: people watching (`play`, `serve`) get recorded time; tests (the pytest
# plugin, scenarios, the library's ReplayPlan) want the answer, as fast as the broker takes it
PLAY_SPEED = "1x"
TEST_SPEED = "max"

METRICS_HOST = "127.0.0.1"  # /metrics and /healthz stay on loopback unless --metrics-host says otherwise
STALE_AFTER_S = 300.0  # /healthz: no new snapshot for five real-feed polls means the feed (or the poller) is stuck
WAITING_UNHEALTHY_S = 10.0  # /healthz of live: a snapshot undelivered this long means Kafka is not taking them
MAX_LAG_MESSAGES = 15_000  # /healthz: about ten full-network snapshots not yet processed by the job
HANG_S = 60.0  # how long `serve --inject timeout=P` holds a request its client has not given up on
CONTROL_PORT = 0  # `play --control`: any free port, printed at start
SERVE_SEED = 0  # the `serve --inject` faults drawn when no --seed is given

STATUS_URL = "https://velib-metropole-opendata.smovengo.cloud/opendata/Velib_Metropole/station_status.json"
INFO_URL = "https://velib-metropole-opendata.smovengo.cloud/opendata/Velib_Metropole/station_information.json"


def project_root() -> Path:
    """The source checkout this package runs from, else the working directory.

    The tool is meant to be used from its checkout (``pip install -e .``): the
    bundled ``data/``, ``recordings/`` and the JVM cache live beside the package.
    Every default path is under this folder (the one rule), so a command gives the
    same result whatever the working directory; an explicit option or variable wins.
    """
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def env_path(name: str, default: Path) -> Path:
    """A path setting: ``VELIB_REPLAY_<name>`` when set, else ``default``."""
    value = os.environ.get(f"{ENV_PREFIX}_{name}")
    return Path(value) if value else default


def cache_dir() -> Path:
    """Git-ignored folder holding the resolved JVM jars and the embedded broker's data."""
    return env_path("CACHE_DIR", project_root() / ".cache")


def stations_table() -> Path:
    """The static station table the job joins on (stationCode → postcode)."""
    return env_path("STATIONS_TABLE", project_root() / "data" / "stations_information.csv")


def checkpoint_dir() -> Path:
    """Where the job keeps its progress, so a restarted job resumes."""
    return env_path("CHECKPOINT", project_root() / "checkpoints" / "velib-replay")


def recordings_dir() -> Path:
    """Where new recordings (``record``, ``simulate``) go by default; the bundled sample lives here too."""
    return project_root() / "recordings"


def sample_recording() -> Path:
    return recordings_dir() / "sample"


def reports_dir() -> Path:
    """Where ``report`` (and ``demo``) write HTML reports and their PNGs by default (git-ignored)."""
    return env_path("REPORTS_DIR", project_root() / "reports")


DASHBOARD_HOST = "127.0.0.1"  # loopback: the dashboard is for this machine unless --host says otherwise
DASHBOARD_PORT = 8050
DASHBOARD_QUIET_AFTER_S = 180.0  # a live feed polled every minute is surely stuck after three silent minutes
