"""The sample's report in a real Chromium, with the network cut: it draws everything from the file alone."""

from __future__ import annotations

import pytest

from velib_replay import config
from velib_replay.report import write_report
from velib_replay.report.data import from_recording
from velib_replay.report.page import LABELS

pytestmark = pytest.mark.integration


def test_the_report_opens_offline_and_shows_the_golden_numbers(page, screenshot, postcodes, tmp_path):
    data = from_recording(config.sample_recording(), postcodes)
    written = write_report(data, tmp_path / "report.html", images=False)
    print(f"report size: {written.size} bytes")
    requests: list[str] = []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.on("request", lambda request: requests.append(request.url))
    page.goto(written.page.as_uri())
    latest = max(data.times)
    golden = [row for row in data.rows if row["snapshot_time"] == latest]
    assert page.locator("#latest-time").inner_text() == latest
    bikes = page.locator("#latest-totals td[data-field=bikes_available]").inner_text()
    assert int(bikes) == sum(row["bikes_available"] for row in golden)
    row_75001 = next(row for row in golden if row["postcode"] == "75001")
    cell = page.locator("#latest-postcodes tr:has(td[data-postcode='75001']) td[data-field=ebike]")
    assert int(cell.text_content()) == row_75001["ebike"]  # in a closed <details>: text, not rendered
    assert page.locator("#map .scatterlayer .point").count() == len(data.stations) == 1495
    assert page.locator("#map .slider-group").count() == 1
    legend = page.locator("#network .legendtext").all_text_contents()
    assert legend == [LABELS[name] for name in ("bikes_available", "mechanical", "ebike", "docks_available")]
    assert requests == [written.page.as_uri()]  # nothing but the file itself: no CDN, no tiles, no fonts
    screenshot(page, "report")
    screenshot(page.locator("#map"), "report-map")
