"""The robustness matrix on the real thing: the shared broker and Spark, the bundled sample, jobs that sum
without deduplication, die on poison, or are velib-replay's own (through its entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import robustness_jobs
from click.testing import CliRunner
from conftest import SAMPLE

from velib_replay.cli import main
from velib_replay.contracts.messages import parse_station_filter
from velib_replay.errors import UserError
from velib_replay.job.entry import job as own_job
from velib_replay.recording import Recording
from velib_replay.robustness.catalogue import CATALOGUE
from velib_replay.robustness.matrix import Setting, run_matrix

# A few stations: two with postcodes in one group, one missing from the table, two with an empty postcode (the
# null group, a row without a postcode in the output), one that stops renting in the sample, one absent twice.
STATIONS = "16107,9020,14111,40001,11025,18008,32017,11104"
INVARIANT = [fault.name for fault in CATALOGUE if fault.invariant]


@pytest.mark.integration
def test_a_job_summing_duplicates_is_sensitive_and_the_cause_is_named(velib_robustness):
    matrix = velib_robustness(
        robustness_jobs.summing, SAMPLE, key="postcode", faults=["duplicate", "reorder"], stations=STATIONS
    )
    duplicate = matrix["duplicate"]
    assert duplicate.verdict == "sensitive"
    assert duplicate.faulted > 0 and duplicate.keys_changed > 0
    assert duplicate.largest["messages"] > 0 and duplicate.largest["bikes"] > 0
    assert duplicate.cause == "output grows: the job does not deduplicate on (station, snapshot time)"
    assert matrix["reorder"].verdict == "robust"


@pytest.mark.integration
def test_a_job_dying_on_poison_fails_in_its_row_and_the_matrix_goes_on(velib_robustness):
    # seed 1: of these stations' 85 messages, one is truncated (seed 0 only spoils a snapshot_time, which this
    # job does not read)
    matrix = velib_robustness(
        robustness_jobs.failing_on_poison, SAMPLE, faults="corrupt,skew", seed=1, stations=STATIONS
    )
    corrupt = matrix["corrupt"]
    assert corrupt.verdict == "failed"
    assert "\n" not in corrupt.cause and "Malformed" in corrupt.cause, corrupt.cause
    assert matrix["skew"].verdict in ("changed", "unchanged")  # the next fault ran, on its own topics


@pytest.mark.integration
def test_own_job_is_robust_to_duplicates_and_a_kill_mid_stream(velib_robustness):
    matrix = velib_robustness(own_job, SAMPLE, faults="duplicate,job-restart", stations=STATIONS)
    assert {row.fault: row.verdict for row in matrix} == {"duplicate": "robust", "job-restart": "robust"}


@pytest.mark.integration
@pytest.mark.slow
def test_own_job_is_robust_to_every_invariance_fault(velib_robustness):
    matrix = velib_robustness("velib_replay.job.entry:job", SAMPLE)
    assert {row.fault: row.verdict for row in matrix if row.invariant} == dict.fromkeys(INVARIANT, "robust")
    assert {row.verdict for row in matrix if not row.invariant} <= {"changed", "unchanged"}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nofunction", str(SAMPLE)], "job 'nofunction': give it as path/to/file.py:function"),
        (["missing.py:job", str(SAMPLE)], "job file missing.py does not exist"),
        (["velib_replay.job.entry:nothing", str(SAMPLE)], "velib_replay.job.entry has no function nothing"),
        (["velib_replay.job.entry:job", str(SAMPLE), "--faults", "duplicate,flood"], "unknown fault 'flood'"),
    ],
)
def test_bad_arguments_are_one_line_errors_before_anything_starts(args, error):
    result = CliRunner().invoke(main, ["robustness", *args])
    assert result.exit_code != 0
    assert error in result.output


@pytest.mark.integration
@pytest.mark.slow
def test_the_command_prints_the_table_and_writes_json_and_junit(tmp_path):
    """The verb end to end, in its own process: its own broker and SparkSession, not the suite's."""
    job = f"{Path(robustness_jobs.__file__)}:summing"
    command = [sys.executable, "-m", "velib_replay", "robustness", job, str(SAMPLE), "--key-fields", "postcode"]
    command += ["--faults", "duplicate,drop", "--stations", STATIONS, "--json", str(tmp_path / "m.json")]
    command += ["--junit-xml", str(tmp_path / "m.xml")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "duplicate: output grows: the job does not deduplicate on (station, snapshot time)" in done.stdout
    verdicts = [row["verdict"] for row in json.loads((tmp_path / "m.json").read_text())["rows"]]
    assert verdicts == ["sensitive", "changed"]
    assert 'failures="1"' in (tmp_path / "m.xml").read_text()


@pytest.mark.integration
def test_key_fields_no_row_has_are_refused_rather_than_keying_every_row_null(velib_spark, velib_kafka_target, tmp_path):
    setting = Setting(
        velib_spark, velib_kafka_target, tmp_path, key_fields=("code_postal",), wanted=parse_station_filter(STATIONS)
    )
    with pytest.raises(UserError, match=r"^no output row has the key fields code_postal: the rows' fields are bikes, "):
        run_matrix(robustness_jobs.summing, Recording(SAMPLE), setting, faults=["duplicate"])
