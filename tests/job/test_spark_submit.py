"""The job as a spark-submit application, on a real standalone cluster: a master and two workers on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import expected_from, latest_indicators, replay

from velib_replay.cli.submit import arguments, spark_submit_command
from velib_replay.job.standalone import standalone_cluster


def test_spark_submits_master_is_passed_on_unless_the_user_chose_one():
    assert arguments(["--once"], "spark://h:7077") == ["process", "--once", "--master", "spark://h:7077"]
    assert arguments(["--master", "local[2]"], "spark://h:7077") == ["process", "--master", "local[2]"]
    assert arguments(["--master=local[2]"], None) == ["process", "--master=local[2]"]


@pytest.mark.integration
@pytest.mark.slow
def test_spark_submit_on_two_workers_gives_the_reference_indicators(
    sample, postcodes, velib_kafka, velib_topics, checkpoint: Path, tmp_path: Path
):
    replay(sample, velib_kafka, velib_topics.status, speed=None)
    topics = ["--topic", velib_topics.status, "--indicators-topic", velib_topics.indicators]
    options = ["--once", "--show", "0", "--bootstrap-servers", velib_kafka, *topics]
    options += ["--quarantine-topic", velib_topics.quarantine, "--checkpoint", str(checkpoint)]
    with standalone_cluster(tmp_path / "spark", workers=2, cores=1, memory="768m") as cluster:
        command = spark_submit_command(cluster.master_url, options, executor_memory="512m")
        env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Processed 16442 messages" in done.stdout  # every message of the sample
    assert "Registering app velib-replay" in (tmp_path / "spark" / "master.log").read_text()
    for worker in ("worker-0", "worker-1"):  # the executors really ran on both workers
        assert list((tmp_path / "spark" / worker).glob("app-*/*/stderr")), worker
    assert latest_indicators(velib_kafka, velib_topics) == expected_from(sample, postcodes)
