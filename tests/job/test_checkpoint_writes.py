"""A local checkpoint's files are written through Hadoop's FileSystem API; Spark's default forks processes per file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from velib_replay.job.runner import CHECKPOINT_FILE_MANAGER, PLAIN_FILE_MANAGER, write_checkpoint_files_plainly

pytestmark = pytest.mark.integration  # the shared Spark session


@contextmanager
def manager_unset(spark: SparkSession) -> Iterator[None]:
    """The session as a user's would be, without the setting (the shared session may have it from an earlier job)."""
    before = spark.conf.get(CHECKPOINT_FILE_MANAGER, None)
    spark.conf.unset(CHECKPOINT_FILE_MANAGER)
    try:
        yield
    finally:
        spark.conf.unset(CHECKPOINT_FILE_MANAGER)
        if before is not None:
            spark.conf.set(CHECKPOINT_FILE_MANAGER, before)


def test_a_local_checkpoint_uses_the_file_system_api(velib_spark, tmp_path):
    with manager_unset(velib_spark):
        write_checkpoint_files_plainly(velib_spark, tmp_path / "checkpoint")
        assert velib_spark.conf.get(CHECKPOINT_FILE_MANAGER) == PLAIN_FILE_MANAGER


def test_a_remote_checkpoint_keeps_spark_s_default(velib_spark):
    with manager_unset(velib_spark):
        write_checkpoint_files_plainly(velib_spark, Path("hdfs://namenode/velib/checkpoint"))
        assert velib_spark.conf.get(CHECKPOINT_FILE_MANAGER, None) is None


def test_a_manager_the_user_chose_is_kept(velib_spark, tmp_path):
    chosen = "com.example.TheirCheckpointFileManager"
    with manager_unset(velib_spark):
        velib_spark.conf.set(CHECKPOINT_FILE_MANAGER, chosen)
        write_checkpoint_files_plainly(velib_spark, tmp_path / "checkpoint")
        assert velib_spark.conf.get(CHECKPOINT_FILE_MANAGER) == chosen
