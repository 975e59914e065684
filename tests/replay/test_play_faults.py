"""Fault injection without Kafka: parsing, the injector's effects, its determinism, the ledger round trip."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from velib_replay.cli import main
from velib_replay.contracts.indicators import Reason, snapshot_epoch
from velib_replay.contracts.messages import snapshot_messages
from velib_replay.errors import UserError
from velib_replay.replay.faults import Fault, Injector, parse_fault
from velib_replay.replay.ledger import open_ledger, read_ledger
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import plan_slots
from velib_replay.verify.expected import minus_ledger, outcome
from velib_replay.verify.reference import read_message

FEW = frozenset({"16107", "9020", "31104", "44015", "8048"})


@pytest.fixture(scope="module")
def slots(sample):
    """(slot, its messages) for a few stations of the sample, read once (bodies take a second each to parse)."""
    return [(s, snapshot_messages(s.snapshot.stations, s.snapshot_time, FEW)) for s in plan_slots(sample, ReplayPlan())]


def inject(slots, specs, seed=0):
    """(per slot: what was sent, then what was drained; the ledger's lines; the injector)."""
    lines: list[dict] = []
    injector = Injector([parse_fault(spec) for spec in specs], seed, lines.append)
    sent = []
    for slot, messages in slots:
        injector.pause_before(slot)
        sent.append(injector.apply(slot, messages))
    sent.append(injector.drain())
    return sent, lines, injector


def flat(batches):
    return list(itertools.chain.from_iterable(batches))


def faithful(slots):
    return [messages for _slot, messages in slots]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("duplicate=0.2", Fault("duplicate", "duplicate=0.2", 0.2)),
        ("reorder=500", Fault("reorder", "reorder=500", window=500)),
        ("late=0.01:3h", Fault("late", "late=0.01:3h", 0.01, seconds=10800)),
        ("DROP=1", Fault("drop", "DROP=1", 1.0)),
        ("corrupt=0", Fault("corrupt", "corrupt=0", 0.0)),
        ("skew=0.5:-90s", Fault("skew", "skew=0.5:-90s", 0.5, seconds=90, sign=-1)),
        ("skew=0.5:±5m", Fault("skew", "skew=0.5:±5m", 0.5, seconds=300, sign=0)),
        ("skew=0.5:+-5m", Fault("skew", "skew=0.5:+-5m", 0.5, seconds=300, sign=0)),
        ("stall=5m:2s", Fault("stall", "stall=5m:2s", at_s=300, seconds=2)),
    ],
)
def test_parse_fault(spec, expected):
    assert parse_fault(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("dup=0.1", "unknown kind"),
        ("drop", "use drop=P"),
        ("drop=1.5", "from 0 to 1"),
        ("drop=nan", "from 0 to 1"),
        ("late=0.1", "use late=P:DELAY"),
        ("late=0.1:0s", "must be positive"),
        ("reorder=1", "from 2"),
        ("skew=0.1:5m", "needs a sign"),
        ("skew=0.1:+400d", "at most 366d"),
        ("stall=5m:x", "duration 'x'"),
    ],
)
def test_parse_fault_refuses(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_fault(spec)


def test_bad_inject_is_a_one_line_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["play", "recordings/sample", "--inject", "late=2:3h"])
    assert result.exit_code == 2
    assert "Invalid value for '--inject': fault 'late=2:3h': '2' is not a probability" in result.output
    assert "Traceback" not in result.output


def test_one_fault_of_each_kind():
    with pytest.raises(UserError, match="drop is given twice"):
        Injector([parse_fault("drop=0.1"), parse_fault("drop=0.2")])
    assert Injector([parse_fault("stall=1m:1s"), parse_fault("stall=2m:1s")]).stalls  # pauses may repeat


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_a_kind_given_twice_is_a_usage_error_before_anything_runs(dry_run):
    twice = ["--inject", "drop=0.1", "--inject", "drop=0.2"]
    result = CliRunner().invoke(
        main, ["play", "recordings/sample", *dry_run, *twice, "--bootstrap-servers", "127.0.0.1:9"]
    )
    assert result.exit_code == 2 and "Invalid value for '--inject': drop is given twice" in result.output


def test_same_seed_same_faults_byte_for_byte(slots):
    specs = ["duplicate=0.3", "reorder=7", "drop=0.1", "corrupt=0.1", "skew=0.2:±5m", "late=0.2:3m"]
    first, second, other = (inject(slots, specs, seed) for seed in (7, 7, 8))
    assert first[:2] == second[:2]
    assert first[0] != other[0]


def test_drop_sends_nothing_and_logs_every_message(slots):
    sent, lines, injector = inject(slots, ["drop=1"])
    total = sum(map(len, faithful(slots)))
    assert not any(sent) and injector.counts == {"drop": total} and len(lines) == total
    assert {line["stationCode"] for line in lines} == FEW


def test_duplicate_copies_go_with_the_next_snapshot(slots):
    sent, lines, _ = inject(slots, ["duplicate=1"])
    original = faithful(slots)
    assert sent[0] == original[0]
    assert sent[1] == original[0] + original[1]  # last snapshot's copies, then this one's
    assert sent[-1] == original[-1]  # the last copies are drained at the end
    assert Counter(line["fault"] for line in lines) == {"duplicate": sum(map(len, original))}


def test_reorder_shuffles_across_snapshots_and_loses_nothing(slots):
    sent, lines, _ = inject(slots, ["reorder=7"])
    sent_flat, original = flat(sent), flat(faithful(slots))
    assert Counter(m.value for m in sent_flat) == Counter(m.value for m in original) and sent_flat != original
    assert sum(line["messages"] for line in lines) == len(original)
    assert {line["messages"] for line in lines[:-1]} == {7}


def test_late_messages_go_out_once_the_feed_is_delay_further(slots):
    sent, lines, _ = inject(slots, ["late=1:3m"])
    for line in lines:
        released = snapshot_epoch(line["released_at"]) if line["released_at"] != "end of replay" else None
        own = snapshot_epoch(line["snapshot_time"])
        if released is None:
            assert own + 180 > slots[-1][0].snapshot_time
        else:
            assert released >= own + 180 and released - 180 < own + 120  # the first slot that far on
    assert sum(map(len, sent)) == sum(map(len, faithful(slots)))


def test_corrupt_messages_are_each_unusable_for_their_reason(slots):
    sent, lines, _ = inject(slots, ["corrupt=1"], seed=3)
    reasons = {
        line["how"]: read_message(message.value, now=2e9) for line, message in zip(lines, flat(sent), strict=True)
    }
    assert reasons == {
        "not-json": Reason.NOT_OBJECT,
        "truncated": Reason.NOT_OBJECT,
        "no-stationCode": Reason.NO_STATION_CODE,
        "bad-snapshot_time": Reason.BAD_TIME,
    }


def test_skew_sends_the_logged_time(slots):
    sent, lines, _ = inject(slots, ["skew=1:-5m"])
    for line, message in zip(lines, flat(sent), strict=True):
        assert json.loads(message.value)["snapshot_time"] == line["sent_time"]
        assert snapshot_epoch(line["sent_time"]) == snapshot_epoch(line["snapshot_time"]) - 300


def test_stall_pauses_once_at_its_feed_offset(slots):
    injector = Injector([parse_fault("stall=3m:1.5s")])
    pauses = [injector.pause_before(slot) for slot, _messages in slots]
    assert sorted(pauses) == [0] * (len(pauses) - 1) + [1.5]
    assert injector.counts == {"stall": 1}


def test_ledger_round_trip(slots, tmp_path):
    plan = ReplayPlan(wanted=FEW, limit=4)
    faults = [parse_fault("drop=0.5"), parse_fault("stall=1m:1s")]
    with open_ledger(tmp_path / "log", plan, faults, 42) as write:
        write({"fault": "drop", "stationCode": "16107", "snapshot_time": "2025-10-18T09:12:00Z"})
    log = read_ledger(tmp_path / "log")
    assert (log.seed, log.faults, log.selection["wanted"], log.selection["limit"]) == (42, faults, FEW, 4)
    assert log.entries == [{"fault": "drop", "stationCode": "16107", "snapshot_time": "2025-10-18T09:12:00Z"}]


def test_a_file_that_is_no_fault_log_is_refused(tmp_path):
    (tmp_path / "log").write_text('{"fault": "drop"}\n')
    with pytest.raises(UserError, match="not a fault log written by play --fault-log"):
        read_ledger(tmp_path / "log")


MIXES = st.fixed_dictionaries(
    {},
    optional={
        "duplicate": st.sampled_from(["duplicate=0.3", "duplicate=1"]),
        "reorder": st.sampled_from(["reorder=2", "reorder=9"]),
        "drop": st.sampled_from(["drop=0.2", "drop=1"]),
        "corrupt": st.sampled_from(["corrupt=0.2", "corrupt=0.5"]),
        "skew": st.sampled_from(["skew=0.3:±2m", "skew=0.5:+90s"]),
    },
)


@given(seed=st.integers(0, 2**32), mix=MIXES)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_ledger_alone_gives_what_the_stream_gives(slots, postcodes, seed, mix):
    """Without late faults, the fault log's lines alone say what the faulted stream makes of the recording."""
    sent, lines, injector = inject(slots, list(mix.values()), seed)
    judged = outcome([[m.value for m in flat(sent)]], postcodes, watermark_s=7200, now=2e9)
    faithful_sent = [(slot.snapshot_time, [json.loads(m.value) for m in messages]) for slot, messages in slots]
    assert judged.indicators == minus_ledger(faithful_sent, lines, postcodes)
    assert judged.quarantined == injector.counts["corrupt"] == sum(line["fault"] == "corrupt" for line in lines)
    assert judged.late_messages == 0


def test_lateness_rule_matches_what_spark_did():
    """Two runs of Spark 4 (max 4 offsets per trigger, watermark 5 minutes), measured: late rows are filtered
    with the previous batch's watermark, at-or-below is late, and drops count per (time, postcode) group."""

    def station(code, minute):
        return json.dumps({"stationCode": code, "snapshot_time": f"2025-10-18T09:{minute:02d}:00Z"}).encode()

    postcodes = {"16107": "75016", "16118": "75016", "8048": "75016", "16110": "75016", "9020": "75009"}
    postcodes |= {"31104": "93110", "44015": "94400"}
    first = [station("16107", 0), station("9020", 0), station("16107", 10), station("9020", 10)]
    first += [station("16107", 0), station("9020", 0), station("31104", 0), station("16107", 5)]
    first += [station(code, 4) for code in ("16107", "9020", "31104", "44015")]
    second = [station("16107", 10)] * 4 + [station("16107", 9)] * 4
    second += [station("16118", 4), station("8048", 4), station("16110", 4), station("16107", 5)]
    spark_said = {"first": (4, 6), "second": (2, 2)}  # (dropped_late, indicator rows)
    for name, values in (("first", first), ("second", second)):
        judged = outcome([values], postcodes, watermark_s=300, max_offsets=4, now=2e9)
        assert (judged.late_groups, len(judged.indicators)) == spark_said[name]


def test_verify_fault_log_needs_a_recording(tmp_path):
    (tmp_path / "log").write_text("{}\n")
    result = CliRunner().invoke(main, ["verify", "--golden", tmp_path / "g", "--fault-log", tmp_path / "log"])
    assert result.exit_code == 2 and "--fault-log goes with --recording" in result.output
