"""``serve --inject``: the syntax, the seeded draws, each fault on real loopback HTTP, ``record`` against it."""

from __future__ import annotations

import io
import re
from collections import Counter

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from test_server import body, three_minutes  # noqa: F401  (fixture)

from velib_replay.capture.client import ApiClient, ClientSettings
from velib_replay.capture.faults import HttpFault, HttpInjector, parse_http_fault
from velib_replay.capture.recorder import Limits, RecordPlan, Sources, StatusLine, record
from velib_replay.capture.server import serve
from velib_replay.cli import main
from velib_replay.errors import UserError
from velib_replay.recording import STATUS_FEED, Recording
from velib_replay.recording.info import describe, format_text

NO_RETRY = ClientSettings(connect_timeout=1.0, timeout=0.5, retries=0)


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("error=0.2", HttpFault("error", 0.2)),
        ("TIMEOUT=1", HttpFault("timeout", 1.0)),
        ("slow=0.1:200ms", HttpFault("slow", 0.1, 0.2)),
        ("reset=0", HttpFault("reset", 0.0)),
    ],
)
def test_faults_are_kind_equals_probability(text, fault):
    assert parse_http_fault(text) == fault
    assert parse_http_fault(str(fault)) == fault  # printed as it is typed


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("drop=0.1", "unknown kind 'drop'"),
        ("error=1.5", "'1.5' is not a probability from 0 to 1"),
        ("error=nan", "is not a probability"),
        ("slow=0.1", "slow=P:DURATION"),
        ("error=0.1:2s", "error=P"),
        ("slow=0.1:soon", "duration 'soon'"),
    ],
)
def test_a_bad_fault_says_what_is_wrong(text, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_http_fault(text)


def test_draws_are_seeded_one_per_request_and_counted():
    faults = [parse_http_fault(text) for text in ("reset=0.1", "error=0.3", "slow=0.2:1s")]

    def kinds(seed: int) -> list[str | None]:
        injector = HttpInjector(faults, seed)
        return [getattr(injector.decide(STATUS_FEED), "kind", None) for _ in range(2000)]

    first = kinds(7)
    assert first == kinds(7) and first != kinds(8)
    counts = Counter(first)
    assert 500 < counts["error"] < 700 and 300 < counts["slow"] < 500 and 130 < counts["reset"] < 270
    injector = HttpInjector(faults, 7)
    for _ in range(2000):
        injector.decide(STATUS_FEED)
    assert injector.summary() == (
        f"faults injected (seed 7) in 2000 feed requests: error {counts['error']}, slow {counts['slow']}, "
        f"reset {counts['reset']}"
    )


@pytest.mark.parametrize(
    ("faults", "says"),
    [(["error=0.6", "reset=0.5"], "add up to more than 1"), (["error=0.1", "error=0.2"], "error is given twice")],
)
def test_impossible_fault_mixes_are_refused(faults, says):
    with pytest.raises(UserError, match=says):
        HttpInjector([parse_http_fault(text) for text in faults], 0)


def fetch_with(recording: Recording, fault: str, requests_: int = 2):
    """``requests_`` fetches from a max-speed server whose first request gets ``fault``, the others none."""
    injector = HttpInjector([parse_http_fault(fault)], 0)
    injector.decide = _first_only(injector.decide)
    with serve(recording, speed=None, port=0, injector=injector).start() as server, ApiClient(NO_RETRY) as client:
        fetches = [client.fetch(f"{server.url}/station_status.json") for _ in range(requests_)]
    return fetches, server


def _first_only(decide):
    calls = []

    def decide_first(feed: str):
        calls.append(feed)
        return decide(feed) if len(calls) == 1 else None

    return decide_first


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("error=1", "HTTP 503 Service Unavailable"),
        ("timeout=1", "timeout: "),
        ("truncate=1", "truncated: body cut after"),
        ("reset=1", "connection: "),
    ],
)
def test_a_faulted_request_gives_the_client_its_fault_and_does_not_use_up_a_body(three_minutes, fault, error):  # noqa: F811
    (faulted, after), server = fetch_with(three_minutes, fault)
    assert faulted.error.startswith(error) and (faulted.body is None or len(faulted.body) < len(body(0)))
    assert after.error is None and after.body == body(0)  # the first body, still
    assert server.injector.counts == {fault.partition("=")[0]: 1}


def test_stale_answers_the_last_body_served_and_slow_the_right_one_late(three_minutes):  # noqa: F811
    injector = HttpInjector([parse_http_fault("stale=0.5"), parse_http_fault("slow=0.5:300ms")], 0)
    with serve(three_minutes, speed=None, port=0, injector=injector).start() as server, ApiClient(NO_RETRY) as client:
        answers = [client.fetch(f"{server.url}/station_status.json") for _ in range(8)]
    replayed = HttpInjector(injector.faults, 0)  # the same seed draws the same faults: which request got which
    drawn = [getattr(replayed.decide(STATUS_FEED), "kind", None) for _ in range(8)]
    served, expected = [], [body(0), body(120), body(180)]
    for kind, answer in zip(drawn, answers, strict=True):
        if kind == "stale":
            assert answer.body == (served[-1] if served else expected[0])
        else:
            expected_body = expected[min(len(served), 2)]
            assert answer.body == expected_body and (kind != "slow" or answer.latency_ms >= 300)
            served.append(expected_body)
    assert {"stale", "slow"} <= set(drawn)


def test_record_against_an_injected_server_keeps_every_body_and_info_accounts_for_each_fault(sample, tmp_path):
    faults = [parse_http_fault(text) for text in ("error=0.1", "truncate=0.1", "stale=0.1", "reset=0.1")]
    injector = HttpInjector(faults, 17)  # draws each kind in the first 20 requests, and 13 correct answers
    with serve(sample, speed=None, port=0, injector=injector).start() as server:
        sources = Sources(f"{server.url}/station_status.json", None)
        plan = RecordPlan(tmp_path, sources, 0.01, Limits(count=20), compression="none")
        record(plan, NO_RETRY, status=StatusLine(io.StringIO(), tty=False))
    again, n = Recording(tmp_path), injector.counts
    assert injector.requests == 20 and n["error"] and n["truncate"] and n["stale"] and n["reset"]
    recorded = {poll.sha256 for poll in again.polls(STATUS_FEED) if poll.valid}
    assert recorded == {poll.sha256 for poll in sample.polls(STATUS_FEED)}  # nothing served correctly is lost
    info = describe(again)
    assert info.accounted and info.polls == 20
    assert info.gap_reasons == {"HTTP 503 Service Unavailable": n["error"], "connection": n["reset"]}
    assert info.invalid_reasons == {"truncated": n["truncate"]}
    sample_repeats = describe(sample).repeated_snapshots
    bodies_served = 20 - sum(n.values())  # the 11 recorded bodies, then the last one again
    assert info.repeated_snapshots == n["stale"] + sample_repeats + (bodies_served - 11)
    assert f"truncated x{n['truncate']}" in format_text(info)


def test_cli_serve_refuses_a_bad_inject_in_one_line():
    done = CliRunner().invoke(main, ["serve", str(SAMPLE), "--inject", "error=2"])
    assert done.exit_code == 2 and "'2' is not a probability from 0 to 1" in done.output
    too_much = ["--inject", "error=0.7", "--inject", "reset=0.7"]
    done = CliRunner().invoke(main, ["serve", str(SAMPLE), "--port", "0", *too_much])
    assert done.exit_code == 1 and "add up to more than 1" in done.output and "Traceback" not in done.output
    twice = ["--inject", "error=0.1", "--inject", "error=0.2"]
    done = CliRunner().invoke(main, ["serve", str(SAMPLE), "--port", "0", *twice])
    assert done.exit_code == 2 and "error is given twice" in done.output
