"""The Spark session the job runs in: the Kafka connector from the local jar cache, quiet logs, UTC."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from py4j.protocol import Py4JError, Py4JNetworkError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from velib_replay import config
from velib_replay.errors import UserError
from velib_replay.kafka import jvm


def spark_session(
    master: str = config.SPARK_MASTER,
    shuffle_partitions: int | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """A session with the Kafka connector from the local jar cache (no --packages at start).

    ``shuffle_partitions``: by default one per core the session has, unless spark-submit's ``--conf``
    set it. Each partition of the aggregation is a state store that loads and commits on every
    micro-batch: with more partitions than cores, a batch waits for them in turns. (A checkpoint
    keeps the count it was started with; Spark ignores this setting when it resumes one.)
    ``extra_conf``: more settings (the test environment's Spark Connect server).
    """
    logging = f"-Dlog4j2.configurationFile={jvm.RESOURCES / 'spark-log4j2.properties'}"
    python = worker_python()
    os.environ["PYSPARK_PYTHON"] = python  # pyspark's SparkContext reads only this for its local workers
    builder = SparkSession.builder.master(master).config("spark.pyspark.python", python)
    if master.startswith("local"):
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
    builder = (
        builder.appName("velib-replay")
        .config("spark.jars", jvm.spark_jars())
        .config("spark.driver.extraJavaOptions", logging)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.json.enablePartialResults", "true")  # the parse reads a field that does not fit as null
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.streaming.stateStore.providerClass", _ROCKSDB)
        .config(_CHANGELOG, "true")  # a batch commits its changed rows, not a new snapshot of the whole state
        .config("spark.log.structuredLogging.enabled", "false")
        .config(map=dict(extra_conf or {}))
    )
    try:
        session = builder.getOrCreate()
    except SPARK_ERRORS as error:
        raise UserError(f"cannot start Spark on master {master}: {spark_error_message(error)}") from None
    session.sparkContext.setLogLevel("WARN")
    _jvm_ignores_sigterm(session)
    if shuffle_partitions or not session.sparkContext.getConf().contains(_SHUFFLE_PARTITIONS):
        session.conf.set(_SHUFFLE_PARTITIONS, shuffle_partitions or session.sparkContext.defaultParallelism)
    return session


def _jvm_ignores_sigterm(session: SparkSession) -> None:
    """The JVM ignores SIGTERM, as pyspark already has it ignore SIGINT, so that a SIGTERM sent to the whole process
    group (systemd's default KillMode, a shell's ``kill -- -PGID``) reaches Python alone, which stops the query
    cleanly and says so; ended first, the JVM took the batch in flight and the summary with it. Only a JVM pyspark
    started for us: under spark-submit, the JVM is the parent, whose signals stay its own."""
    if getattr(session.sparkContext._gateway, "proc", None) is None:
        return
    jvm = session.sparkContext._jvm
    jvm.sun.misc.Signal.handle(jvm.sun.misc.Signal("TERM"), jvm.sun.misc.SignalHandler.SIG_IGN)


def is_connect(spark: SparkSession) -> bool:
    """A Spark Connect session (the test environment's): no SparkContext, no JVM of ours."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def parallelism(spark: SparkSession) -> int:
    """How many tasks the session runs at once. A Spark Connect session (the test environment's) has no
    SparkContext to ask; its server makes the shuffle partitions one per core, so they say it there."""
    if is_connect(spark):
        return int(spark.conf.get(_SHUFFLE_PARTITIONS))
    return spark.sparkContext.defaultParallelism


def worker_python() -> str:
    """The Python for Spark's workers: this very interpreter (another minor version fails the job), unless
    the user set PYSPARK_PYTHON (a cluster whose workers have Python elsewhere)."""
    return os.environ.get("PYSPARK_PYTHON") or sys.executable


_SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
_ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
_CHANGELOG = "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled"

SPARK_ERRORS = (PySparkException, Py4JError, ConnectionError)
"""What pyspark raises: Java exceptions it converts, those it does not, and a lost or failed JVM (Py4J's network
error, or the socket's own ConnectionRefusedError when Py4J opens a new connection to a JVM that is gone)."""


def spark_error_message(error: BaseException) -> str:
    """The first meaningful line of a Spark error, without the Java or Py4J stack trace around it."""
    if isinstance(error, (Py4JNetworkError, ConnectionError)):
        return f"Spark's JVM is gone ({type(error).__name__}: killed, or it ended on its own)"
    java = getattr(error, "java_exception", None)
    text = str(java.toString()) if java is not None else str(error)
    return next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
