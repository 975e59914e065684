"""The dashboard in a real Chromium while ``play --speed 60x`` and the job run: the page follows the topic.

The dashboard opens on empty topics; the job runs once after the first snapshot, and once more after
the sample has been played at 60x (a snapshot a second): the page must show each new latest snapshot.
"""

from __future__ import annotations

import pytest
from helpers import latest_indicators, process_once, replay
from playwright.sync_api import expect

from velib_replay.contracts.feed import iso_utc
from velib_replay.dashboard.server import open_dashboard
from velib_replay.report.data import latest_by_postcode, network_totals

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAIT_MS = 30_000  # the page hears of a new row within a second; the margin is for a busy 2-core machine


def test_the_dashboard_follows_a_replay_at_60x(
    page, screenshot, sample, velib_spark, velib_kafka, velib_kafka_target, velib_topics, checkpoint
):
    names = velib_topics
    times = sorted({iso_utc(snapshot.snapshot_time) for snapshot in sample.snapshots()})
    server = open_dashboard(velib_kafka_target, names.indicators, names.status, "127.0.0.1", 0, quiet_after=600).start()
    try:
        page.goto(server.url)
        expect(page.locator("#latest-time")).to_have_text("none yet")
        replay(sample, velib_kafka, names.status, None, limit=1)
        process_once(velib_spark, velib_kafka, names, checkpoint)
        expect(page.locator("#latest-time")).to_have_text(times[0], timeout=WAIT_MS)
        replay(sample, velib_kafka, names.status, 60.0)  # the whole sample, a snapshot a second
        process_once(velib_spark, velib_kafka, names, checkpoint)
        expect(page.locator("#latest-time")).to_have_text(times[-1], timeout=WAIT_MS)  # the page moved on
        latest = latest_indicators(velib_kafka, names)
        final_time, by_postcode = latest_by_postcode(latest.values())
        total = network_totals(by_postcode.values())[final_time]
        assert final_time == times[-1]
        for name in ("bikes_available", "docks_available"):
            expect(page.locator(f"#latest-totals td[data-field={name}]")).to_have_text(str(total[name]))
        cell = page.locator("#latest-postcodes tr:has(td[data-postcode='75001']) td[data-field=bikes_available]")
        expect(cell).to_have_text(str(by_postcode["75001"]["bikes_available"]))
        expect(page.locator("#lag")).to_have_text("0.0s", timeout=WAIT_MS)  # caught up with the status topic
        assert page.locator("#age").inner_text() not in ("", "-")
        assert page.locator("#notice").is_hidden()
        assert page.locator("#network .scatterlayer .trace").count() == 4
        screenshot(page, "dashboard")
    finally:
        server.close()
