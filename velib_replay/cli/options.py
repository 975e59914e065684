"""Options and parameter types shared by several commands, declared once so names, defaults, env vars
and error messages agree everywhere.

Each parameter type parses one syntax (speed, duration, offset, stations…) into the typed
value the library takes; a bad value is a usage error (exit 2) naming the option.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from velib_replay import config, units
from velib_replay.capture.faults import parse_http_fault
from velib_replay.contracts.messages import parse_station_filter
from velib_replay.dashboard.control import check_url as check_control_url
from velib_replay.errors import UserError
from velib_replay.kafka import broker, client_config
from velib_replay.kafka.client_config import ClientConfig, KafkaTarget
from velib_replay.kafka.publisher import TIMESTAMPS
from velib_replay.observe.logs import LOG_FORMATS
from velib_replay.recording import KEYFRAME_EVERY
from velib_replay.replay.faults import parse_fault
from velib_replay.robustness.catalogue import parse_fault_names
from velib_replay.verify.keys import parse_key_fields


def env(name: str) -> str:
    return f"{config.ENV_PREFIX}_{name}"


def examples(*lines: str) -> str:
    """A command's epilog: real command lines, kept verbatim by click (``\\b``), which a test runs as written."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def compose(*decorators: Callable) -> Callable:
    """Several click options as one decorator, so commands that share them declare them once."""

    def apply(function: Callable) -> Callable:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def seed(default: int, env_name: str, help: str) -> Callable:
    """``--seed``, spelled alike on every command that draws at random: a non-negative integer, env var fallback."""
    return click.option(
        "--seed",
        type=click.IntRange(min=0),
        default=default,
        show_default=True,
        envvar=env(env_name),
        show_envvar=True,
        help=help,
    )


class _Parsed(click.ParamType):
    """A parameter type made of a parser that raises ValueError with a readable message."""

    def __init__(self, name: str, parser: Callable[[str], Any]):
        self.name = name
        self.parser = parser

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default already parsed
        try:
            return self.parser(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def _positive_duration(text: str) -> float:
    seconds = units.parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return seconds


SPEED = _Parsed("speed", units.parse_speed)  # float, or None for max
DURATION = _Parsed("duration", _positive_duration)  # seconds
OFFSET = _Parsed("offset", units.parse_offset)  # timedelta from the start, or datetime
STATIONS = _Parsed("stations", parse_station_filter)  # frozenset of codes, or None for all
HTTP_FAULT = _Parsed("fault", parse_http_fault)  # serve --inject KIND=PARAMS
FAULT = _Parsed("fault", parse_fault)  # replay.faults.Fault


def fault_set(repeatable: tuple[str, ...] = ()) -> Callable[[click.Context, click.Parameter, tuple], tuple]:
    """The whole-set check of a repeated ``--inject``, at parse time: a kind given twice is a usage error,
    before anything runs (``play --dry-run`` included)."""

    def check(ctx: click.Context, param: click.Parameter, faults: tuple) -> tuple:
        try:
            units.check_fault_set((fault.kind for fault in faults), repeatable)
        except ValueError as error:
            raise click.BadParameter(str(error), ctx, param) from None
        return faults

    return check


KEY_FIELDS = _Parsed("fields", parse_key_fields)  # tuple of value field names
CONTROL_URL = _Parsed("url", check_control_url)  # play --control's endpoint, as it printed it
ROBUSTNESS_FAULTS = _Parsed("faults", parse_fault_names)  # names of the robustness matrix's faults


class PositiveSeconds(click.ParamType):
    """A finite number of seconds above zero (and within bounds, when given): nan, inf, 0 and negatives are refused.

    click's FloatRange lets nan through (every comparison with nan is false), hence this type.
    """

    name = "seconds"

    def __init__(self, minimum: float = 0.0, maximum: float = math.inf):
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not (math.isfinite(seconds) and seconds > 0 and self.minimum <= seconds <= self.maximum):
            bounds = f"from {self.minimum:g} to {self.maximum:g}" if math.isfinite(self.maximum) else "above 0"
            self.fail(f"{value!r} must be a finite number of seconds {bounds}", param, ctx)
        return seconds


SECONDS = PositiveSeconds()

bootstrap_servers = click.option(
    "--bootstrap-servers",
    default=config.BOOTSTRAP_SERVERS,
    envvar=env("BOOTSTRAP_SERVERS"),
    show_envvar=True,
    help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT...].",
)


KAFKA_SETTINGS = "velib_replay.kafka_settings"  # ctx.meta: the settings whose secrets the CLI hides in any error


def _load_kafka_config(ctx: click.Context, param: click.Parameter, path: Path | None) -> ClientConfig:
    """Loaded as soon as parsed, so a bad file is refused before anything runs (none: plaintext)."""
    try:
        settings = client_config.load(path) if path else ClientConfig()
    except UserError as error:
        raise click.BadParameter(str(error), param=param) from None
    ctx.meta[KAFKA_SETTINGS] = settings
    return settings


kafka_config = click.option(
    "--kafka-config",
    "kafka_settings",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=env("KAFKA_CONFIG"),
    show_envvar=True,
    callback=_load_kafka_config,
    help="Kafka client properties file, as Kafka's own tools take it (security.protocol, sasl.mechanism, "
    "sasl.jaas.config, ssl.*): for secured clusters. Its secrets are never printed.",
)


def kafka_target(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--bootstrap-servers`` and ``--kafka-config``, handed to ``command`` as one ``kafka: KafkaTarget``."""

    @functools.wraps(command)
    def with_target(*args: Any, bootstrap_servers: str, kafka_settings: ClientConfig, **kwargs: Any) -> Any:
        return command(*args, kafka=KafkaTarget(bootstrap_servers, kafka_settings), **kwargs)

    return bootstrap_servers(kafka_config(with_target))


status_topic = click.option(
    "--topic",
    "status_topic",
    default=config.STATUS_TOPIC,
    envvar=env("STATUS_TOPIC"),
    show_envvar=True,
    help="Topic of per-station status messages.",
)
indicators_topic = click.option(
    "--indicators-topic",
    default=config.INDICATORS_TOPIC,
    envvar=env("INDICATORS_TOPIC"),
    show_envvar=True,
    help="Topic of computed indicators.",
)
quarantine_topic = click.option(
    "--quarantine-topic",
    default=config.QUARANTINE_TOPIC,
    envvar=env("QUARANTINE_TOPIC"),
    show_envvar=True,
    help="Topic where unusable station messages are set aside, with the reason.",
)


def _stations(help: str) -> Callable:
    return click.option(
        "--stations", "wanted", type=STATIONS, default="all", envvar=env("STATIONS"), show_envvar=True, help=help
    )


stations = _stations("Stations to publish: 'all' or comma-separated stationCodes (16107,32017).")
run_stations = _stations(
    "Stations the run published (play or live --stations), so the computation over --recording keeps the same: "
    "'all' or comma-separated stationCodes (16107,32017)."
)
timestamps = click.option(
    "--timestamps",
    type=click.Choice(TIMESTAMPS),
    default="feed",
    envvar=env("TIMESTAMPS"),
    show_envvar=True,
    help="Each record's Kafka timestamp: its snapshot time (feed), so offsets-for-times and Spark's "
    "startingOffsetsByTimestamp find feed times, or the time it was sent (send).",
)
skip_repeated = click.option(
    "--skip-repeated",
    is_flag=True,
    envvar=env("SKIP_REPEATED"),
    show_envvar=True,
    help="Leave out a snapshot whose feed clock (lastUpdatedOther) equals the one just before: the feed served it "
    "again. By default every poll is sent, as the original producer does; repeats are counted either way.",
)
stations_table = click.option(
    "--stations-table",
    type=click.Path(exists=True, path_type=Path),
    default=config.stations_table,
    envvar=env("STATIONS_TABLE"),
    show_envvar=True,
    show_default="data/stations_information.csv",
    help="CSV with stationCode and postcode columns (the station_id for a system without stationCode); "
    "or a recording folder: each station's post_code in its station_information, else its system_regions "
    "region name, else unknown.",
)
kafka_port = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=config.KAFKA_PORT,
    envvar=env("KAFKA_PORT"),
    show_envvar=True,
    help="Port of the embedded broker.",
)
kafka_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=broker.default_data_dir,
    envvar=env("KAFKA_DATA_DIR"),
    show_envvar=True,
    show_default="<cache>/kafka",
    help="Folder of the broker's storage, configuration, pid file and log.",
)
metrics_options = compose(
    click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        default=None,
        envvar=env("METRICS_PORT"),
        show_envvar=True,
        show_default="no metrics",
        help="Serve Prometheus metrics at /metrics and a health check at /healthz on this port (0: any free port).",
    ),
    click.option(
        "--metrics-host",
        default=config.METRICS_HOST,
        envvar=env("METRICS_HOST"),
        show_envvar=True,
        help="Address the metrics port listens on (loopback; 0.0.0.0 exposes it to the network).",
    ),
    click.option(
        "--log-format",
        type=click.Choice(LOG_FORMATS),
        default="text",
        envvar=env("LOG_FORMAT"),
        show_envvar=True,
        help="Log lines on stderr: text, or json (one event per line, the status line's facts as fields).",
    ),
)
stale_after = click.option(
    "--stale-after",
    type=SECONDS,
    default=config.STALE_AFTER_S,
    envvar=env("STALE_AFTER"),
    show_envvar=True,
    help="/healthz answers 503 once the feed has had no new snapshot for this many seconds.",
)
max_lag = click.option(
    "--max-lag",
    type=click.IntRange(min=0),
    default=config.MAX_LAG_MESSAGES,
    envvar=env("MAX_LAG"),
    show_envvar=True,
    help="/healthz answers 503 once the job is more than this many messages behind its input topic.",
)
recording_argument = click.argument("recording", type=click.Path(exists=True, file_okay=False, path_type=Path))

keyframe_every_option = click.option(
    "--keyframe-every",
    type=click.IntRange(1, 100_000),
    default=KEYFRAME_EVERY,
    envvar=env("KEYFRAME_EVERY"),
    show_envvar=True,
    help="With zstd-delta: a whole body every N polls of a feed, the others deltas of the previous body;"
    " reading any one body costs at most N decompressions (60: one an hour at one poll a minute).",
)


_SIZE_UNITS = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 10**3, "mb": 10**6, "gb": 10**9, "b": 1}


def parse_size(text: str) -> int:
    """``16MB``, ``500KB``, ``2MiB`` or plain bytes → bytes (KB = 1000 bytes, as format_bytes prints them)."""
    cleaned = text.strip().lower()
    unit = next((unit for unit in _SIZE_UNITS if cleaned.endswith(unit)), "")
    number = cleaned.removesuffix(unit).strip()
    try:
        size = float(number) * _SIZE_UNITS.get(unit, 1)
    except ValueError:
        size = math.nan
    if not (math.isfinite(size) and size >= 1 and number.replace(".", "", 1).isdigit()):
        raise ValueError(f"size {text!r}: use bytes or a number with KB, MB or GB of at least 1 byte (16MB, 500KB)")
    return int(size)


SIZE = _Parsed("size", parse_size)  # bytes


SPARK_INTERVAL = _Parsed("interval", units.parse_spark_interval)  # e.g. a watermark delay: "2 hours"
SPARK_TRIGGER_INTERVAL = _Parsed(
    "interval", lambda text: units.parse_spark_interval(text, calendar=False)
)  # "5 seconds"

_SPARK_MASTER = re.compile(
    r"^(?:yarn|local(?:\[(?:\*|[1-9]\d*)(?:,[1-9]\d*)?\])?|local-cluster\[[1-9]\d*,[1-9]\d*,[1-9]\d*\]"
    r"|spark://[^\s/:,]+:\d+(?:,[^\s/:,]+:\d+)*|k8s://\S+)$"
)


def _spark_master(text: str) -> str:
    """A master URL Spark can parse, refused before a JVM starts (Spark itself answers with a Java stack trace)."""
    if not _SPARK_MASTER.match(text.strip()):
        raise ValueError(
            f"master {text!r}: use local, local[N], local[*], local[N,RETRIES], spark://HOST:PORT, yarn or k8s://URL"
        )
    return text.strip()


SPARK_MASTER = _Parsed("master", _spark_master)
