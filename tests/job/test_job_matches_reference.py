"""Property: on any mix of valid and broken station messages, the real job and the reference agree.

Hypothesis draws a few large batches of raw message values (valid stations, stations with
counts of every wrong kind, bike types of every shape, bad and future snapshot times,
non-JSON bytes, non-objects, tombstones); each batch goes through the real broker and the
real Spark job on fresh topics. The indicators must equal ``reference.judge``'s, the
quarantine must hold exactly the messages it rejects with the same reasons, and the job
must return normally.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest
from helpers import latest_indicators, process_once
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from raw_messages import expected_quarantine, quarantined, send_raw

from velib_replay.contracts.feed import iso_utc
from velib_replay.job.pipeline import fresh_topics
from velib_replay.verify.reference import judge

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CODES = ["16107", "9020", "14111", "11031_relais", "not-in-the-table"]  # few codes: stations repeat in a snapshot
TIMES = ["2025-10-18T09:09:16Z", "2025-10-18T09:10:16Z", "2000-01-01T00:00:00Z"]
BAD_TIMES = [
    "yesterday", "", "2099-01-01T00:00:00Z", iso_utc(time.time() + 2 * 86400), "2025-02-29T00:00:00Z",
    "1999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2025-10-18T09:09:16", "2025-10-18T09:09:16.000Z",
    "2025-10-18 09:09:16Z", " 2025-10-18T09:09:16Z", "2025-10-18T24:00:00Z", "+2025-10-18T09:09:16Z",
]  # fmt: skip
EDGE_COUNTS = [0, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, -1, -(2**63), 10**30, 3.0, 1e300, float("nan")]

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=4),
    st.floats(),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.sampled_from(["mechanical", "ebike", "x"]), st.integers(0, 9), max_size=2),
)
counts = st.one_of(st.integers(0, 40), st.integers(0, 40), st.sampled_from(EDGE_COUNTS), st.integers(), junk)
type_map = st.fixed_dictionaries({}, optional={"mechanical": counts, "ebike": counts, "other": counts})
bike_types = st.one_of(st.lists(st.one_of(type_map, type_map, junk), max_size=4), type_map, junk)
codes = st.one_of(st.sampled_from(CODES), st.sampled_from(CODES), st.just(""), st.integers(), junk)
times = st.one_of(st.sampled_from(TIMES), st.sampled_from(TIMES), st.sampled_from(BAD_TIMES), st.integers(), junk)
stations = st.fixed_dictionaries(
    {"stationCode": codes, "snapshot_time": times},
    optional={
        "num_bikes_available": counts,
        "num_docks_available": counts,
        "num_bikes_available_types": bike_types,
        "is_renting": counts,
    },
)
RAW = [
    b"{not json",
    b"[1, 2]",
    b"42",
    b"null",
    b'"16107"',
    b"\xff\xfe{}",
    b'{"stationCode": "\xe9", "snapshot_time": "2025-10-18T09:09:16Z"}',
    b'{"stationCode": "16107", "stationCode": "9020", "snapshot_time": "2025-10-18T09:09:16Z"}',
    b'{"stationCode": "16107", "snapshot_time": "2025-10-18T09:09:16Z", "num_bikes_available": 5} trailing',
    b'\n {"stationCode": "9020", "snapshot_time": "2025-10-18T09:09:16Z", "num_docks_available": 1e400}',
    b'{"stationCode": "9020", "snapshot_time": "2025-10-18T09:09:16Z", "num_docks_available": 2.50}',
    b'{"stationCode": 16107, "snapshot_time": "2025-10-18T09:09:16Z", "num_bikes_available": 5}',
    b'{"stationCode": "9020", "snapshot_time": "2025-10-18T09:09:16Z", "num_bikes_available_types": [{"ebike": 2}, 7]}',
    b'{"stationCode": "9020", "snapshot_time": "2025-10-18T09:09:16Z", '
    b'"num_bikes_available_types": [{"mechanical": 18446744073709551616, "ebike": 2}, {"mechanical": "3"}]}',
]  # typed reads: a code that is a number; an entry that is not an object; counts that fit no bigint or are text
values = st.one_of(
    stations.map(lambda station: json.dumps(station).encode()),
    stations.map(lambda station: json.dumps(station).encode()),
    st.none(),
    st.binary(max_size=12),
    st.sampled_from(RAW),
    st.lists(st.integers(), max_size=2).map(lambda items: json.dumps(items).encode()),
)


@settings(
    max_examples=4,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # shrinking would rerun the Spark job hundreds of times
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(batch=st.lists(values, min_size=150, max_size=400))
def test_job_and_reference_agree_on_any_messages(batch, velib_spark, velib_kafka, velib_kafka_target, postcodes):
    names = fresh_topics(velib_kafka_target)
    offsets = send_raw(velib_kafka, names.status, batch)
    now = time.time()
    with tempfile.TemporaryDirectory() as checkpoint:
        summary = process_once(velib_spark, velib_kafka, names, Path(checkpoint))
    expected = judge(batch, postcodes, now)
    note(f"{len(batch)} messages, {len(expected.rejected)} rejected, {len(expected.indicators)} indicator rows")
    assert summary.input_rows == len(batch)
    assert latest_indicators(velib_kafka, names) == expected.indicators
    assert quarantined(velib_kafka, names.quarantine) == expected_quarantine(offsets, expected.rejected)
    assert summary.quarantined == len(expected.rejected)
    assert summary.dropped_late == 0
