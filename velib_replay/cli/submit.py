"""The job as a ``spark-submit`` application: the very options of ``velib-replay process``.

    spark-submit --master spark://HOST:7077 --jars <the Kafka connector jars> velib_replay/cli/submit.py --once ...

spark-submit, not the job, owns the master: unless ``--master`` is given after the script, the one
spark-submit was given (``spark.master`` in the driver's configuration) is passed on to ``process``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a file, as spark-submit does: the checkout holding the package goes on the path in
    # place of the script's own folder, whose kafka.py would be imported as kafka-python
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from velib_replay.cli import main
from velib_replay.job.session import worker_python
from velib_replay.job.standalone import spark_home
from velib_replay.kafka import jvm

SCRIPT = Path(__file__).resolve()


def submitted_master() -> str | None:
    """The master spark-submit was given, read from the driver JVM's configuration (None outside spark-submit).

    A SparkConf made before the JVM gateway is up is an empty Python dict, hence the gateway first.
    """
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # under spark-submit: connects to its JVM, which holds spark.master
    return SparkConf().get("spark.master", None)


def arguments(argv: list[str], master: str | None) -> list[str]:
    """``process`` and its options, with spark-submit's master unless the user chose one."""
    given = any(arg == "--master" or arg.startswith("--master=") for arg in argv)
    return ["process", *argv, *(["--master", master] if master and not given else [])]


def spark_submit_command(master: str, process_options: list[str], *, executor_memory: str = "512m") -> list[str]:
    """The spark-submit command line docs/operating.md shows: pyspark's spark-submit, the Kafka connector jars from the
    local cache (a driver started by spark-submit loads no jar the job names later), the workers' Python."""
    logging = f"-Dlog4j2.configurationFile={jvm.RESOURCES / 'spark-log4j2.properties'}"
    return [
        str(spark_home() / "bin" / "spark-submit"), "--master", master, "--jars", jvm.spark_jars(),
        "--executor-memory", executor_memory, "--conf", f"spark.pyspark.python={worker_python()}",
        "--driver-java-options", logging, str(SCRIPT), *process_options,
    ]  # fmt: skip


if __name__ == "__main__":
    main(arguments(sys.argv[1:], submitted_master()), prog_name="velib_replay.cli.submit")
