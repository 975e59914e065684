"""Spark's refusals come out as one line naming what the user can act on (no Spark needed to check the wording)."""

from __future__ import annotations

from pathlib import Path

import pytest

from velib_replay.errors import UserError
from velib_replay.job.runner import claim_checkpoint, failure_message, refuse_two_query_layout
from velib_replay.job.session import spark_error_message

CHECKPOINT = Path("hdfs:/velib/checkpoints")


@pytest.mark.parametrize(
    "spark_says",
    [
        "[STREAM_FAILED] Query [id = 1] terminated with exception: Multiple streaming queries are concurrently "
        "using file:/velib/checkpoints/indicators/offsets\n\tat org.apache.spark.Something",
        "Cannot start query with id 1 as another query with same id is already active.",
    ],
)
def test_a_checkpoint_used_by_another_query_is_named(spark_says):
    message = failure_message("the job failed", RuntimeError(spark_says), CHECKPOINT)
    assert message.startswith(f"checkpoint {CHECKPOINT} is in use by another job")


def test_other_failures_keep_their_first_line_only():
    error = RuntimeError("\n[KAFKA_DATA_LOSS] Some data may have been lost\n\tat org.apache.spark.Something\n")
    assert spark_error_message(error) == "[KAFKA_DATA_LOSS] Some data may have been lost"
    assert failure_message("the job failed", error, CHECKPOINT) == (
        "the job failed: [KAFKA_DATA_LOSS] Some data may have been lost"
    )


def test_a_local_checkpoint_is_held_by_one_job_at_a_time(tmp_path):
    first = tmp_path / "cp"
    with claim_checkpoint(first), pytest.raises(UserError, match="is in use by another job"), claim_checkpoint(first):
        pass
    with claim_checkpoint(tmp_path / "cp"):  # released once the first job is done
        pass


def test_a_remote_checkpoint_is_left_to_spark(tmp_path):
    with claim_checkpoint(CHECKPOINT), claim_checkpoint(CHECKPOINT):
        pass
    assert not Path("hdfs:").exists()


def test_a_checkpoint_of_the_one_query_per_output_job_is_refused_saying_what_to_do(tmp_path):
    (tmp_path / "indicators" / "offsets").mkdir(parents=True)
    with pytest.raises(UserError, match=r"cannot resume: give a new --checkpoint .* or remove this one$"):
        refuse_two_query_layout(tmp_path)
    (tmp_path / "job").mkdir()
    refuse_two_query_layout(tmp_path)  # a job of this version started on it already: resumed
