"""Issue 28, items 1-2: the dashboard draws what a topic holds as text, and one bad row never breaks it.

A postcode is whatever a station table or a user's job writes; a row can lack any field. The page must
show hostile text as written, run nothing, and count a row that does not fit the contract instead of
drawing it; the event stream must go on for every open page.
"""

from __future__ import annotations

import html
import json
import math
import urllib.request

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka import KafkaProducer
from playwright.sync_api import expect

from velib_replay.dashboard.follow import view
from velib_replay.dashboard.server import open_dashboard
from velib_replay.report.data import ReportData
from velib_replay.report.page import postcodes_figure

HOSTILE = '<img src=x onerror="window.__pwned=1">'
WAIT_MS = 30_000


def _row(postcode, time="2025-10-18T09:13:00Z", bikes=3) -> dict:
    return {"snapshot_time": time, "postcode": postcode, "stations": 1, "bikes_available": bikes, "mechanical": bikes,
            "ebike": 0, "docks_available": 10}  # fmt: skip


def test_a_row_without_snapshot_time_is_counted_not_drawn():
    rows = [_row("75001"), {k: v for k, v in _row("75002").items() if k != "snapshot_time"}]
    state = view(rows, None)
    assert state["rows"] == 1 and list(state["postcodes"]) == ["75001"]
    assert state["unreadable"] == "1 row without snapshot_time"


def test_rows_that_cannot_be_drawn_never_reach_the_event_stream():
    rows = [_row("75001"), _row(75002), _row("75003", bikes=math.nan), _row("75004", time="yesterday")]
    state = view(rows, "1 record of 5 unreadable (1 not JSON)")
    json.dumps(state, allow_nan=False)  # what the server sends: NaN would break JSON.parse in every page
    assert list(state["postcodes"]) == ["75001"]
    assert state["unreadable"].startswith("1 record of 5 unreadable (1 not JSON); ")
    assert "1 row with an invalid snapshot_time" in state["unreadable"]


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
_json = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner), max_leaves=5
)
_fields = st.sampled_from(["snapshot_time", "postcode", "stations", "bikes_available", "ebike", "docks_available"])


@given(st.lists(st.dictionaries(_fields, _json | st.just("2025-10-18T09:13:00Z"), max_size=6), max_size=6))
def test_any_record_leaves_a_drawable_state(rows):
    json.dumps(view(rows, None), allow_nan=False)


@pytest.mark.integration
def test_the_page_shows_hostile_text_as_written_runs_nothing_and_counts_a_bad_row(
    page, velib_kafka, velib_kafka_target, velib_topics
):
    names = velib_topics
    producer = KafkaProducer(bootstrap_servers=velib_kafka)
    bad = {k: v for k, v in _row("75003").items() if k != "snapshot_time"}
    for key, row in (("a|75001", _row("75001")), ("a|hostile", _row(HOSTILE, bikes=7)), ("bad", bad)):
        producer.send(names.indicators, key=key.encode(), value=json.dumps(row).encode())
    producer.flush()
    producer.close()
    server = open_dashboard(velib_kafka_target, names.indicators, names.status, "127.0.0.1", 0, quiet_after=600).start()
    try:
        with urllib.request.urlopen(server.url) as response:
            policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        page.goto(server.url)
        expect(page.locator("#unreadable")).to_have_text("unreadable: 1 row without snapshot_time", timeout=WAIT_MS)
        expect(page.locator("#rows")).to_have_text("2")
        hostile = page.locator("#latest-postcodes td[data-postcode]").filter(has_text="onerror")
        expect(hostile).to_have_text(HOSTILE)
        expect(page.locator("#latest-postcodes td[data-postcode='75001']")).to_have_text("75001")
        assert page.locator("#latest-postcodes img").count() == 0  # text, not markup
        assert page.locator("#postcodes .xtick").filter(has_text="onerror").count() == 1  # the chart's label too
        assert page.evaluate("window.__pwned") is None
        # Even markup smuggled into the DOM would not run: the policy forbids inline event handlers.
        page.evaluate("""document.body.insertAdjacentHTML("beforeend", '<img src=x onerror="window.__pwned=2">')""")
        page.wait_for_timeout(500)
        assert page.evaluate("window.__pwned") is None
        expect(page.locator("#latest-time")).to_have_text("2025-10-18T09:13:00Z")  # the stream still draws
    finally:
        server.close()


def test_the_report_charts_label_a_hostile_postcode_as_text():
    data = ReportData(title="t", source="s", rows=[_row("75001"), _row(HOSTILE)])
    figure = postcodes_figure(data)
    assert {trace.name for trace in figure.data} == {"75001", html.escape(HOSTILE)}
    assert html.escape(HOSTILE) in [button.label for button in figure.layout.updatemenus[0].buttons]
