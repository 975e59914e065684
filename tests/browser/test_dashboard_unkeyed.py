"""``dashboard --key-fields postcode`` on the original consumer's output, in a real Chromium: rows without Kafka
keys, its own field names (``total_bikes``), all-time sums without a snapshot_time, and a null postcode (its
stations missing from the table) shown as such; nothing counted unreadable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kafka import KafkaProducer
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

WAIT_MS = 60_000
# As the original consumer writes them (examples/original-pipeline): update mode, so 75001 comes twice.
ROWS = (
    {"postcode": "75001", "total_bikes": 4200, "mechanical": 2300, "ebike": 1900},
    {"postcode": "75002", "total_bikes": 2504, "mechanical": 1299, "ebike": 1205},
    {"postcode": None, "total_bikes": 12, "mechanical": 5, "ebike": 7},
    {"postcode": "75001", "total_bikes": 4225, "mechanical": 2328, "ebike": 1897},
)


def test_dashboard_key_fields_postcode_shows_the_original_consumers_rows(page, screenshot, velib_kafka, velib_topics):
    topic = velib_topics.create("original-output")
    producer = KafkaProducer(bootstrap_servers=velib_kafka)
    for row in ROWS:
        producer.send(topic, value=json.dumps(row).encode()).get(timeout=60)  # no key, as Spark's Kafka sink
    producer.close()
    args = ["dashboard", "--port", "0", "--key-fields", "postcode", "--indicators-topic", topic]
    command = [sys.executable, "-m", "velib_replay", *args, "--bootstrap-servers", velib_kafka]
    dashboard = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = next(line for line in dashboard.stdout if line.startswith("Dashboard on "))
        page.goto(started.split()[2])
        expect(page.locator("#rows")).to_have_text("3", timeout=WAIT_MS)  # the latest row per postcode
        expect(page.locator("#latest-time")).to_have_text("no snapshot_time in these rows")
        cell = page.locator("#latest-postcodes tr:has(td[data-postcode='75001']) td[data-field=total_bikes]")
        expect(cell).to_have_text("4225")
        none = page.locator("#latest-postcodes td[data-postcode='unknown']")
        expect(none).to_have_text("no postcode in the station table")
        expect(page.locator("#latest-postcodes thead")).to_contain_text("total_bikes")
        assert page.locator("#unreadable").inner_text() == ""
        expect(page.locator("#network")).to_contain_text("no data yet")
        bars = page.locator("#postcodes .xtick")
        expect(bars).to_have_count(3)
        assert "no postcode in the station table" in page.locator("#postcodes").inner_text()
        page.locator("#latest-postcodes").evaluate("table => table.closest('details').open = true")
        screenshot(page, "dashboard-original-consumer")
    finally:
        dashboard.terminate()
        dashboard.communicate(timeout=30)
