"""The docs' report images, made from the bundled sample: ``python docs/make_images.py`` (Chromium and Playwright).

The report is the reference computation over ``recordings/sample`` (no Kafka needed), written to a temporary
folder and photographed in headless Chromium (Debian's ``chromium``, or the binary ``VELIB_REPLAY_CHROMIUM``
names), as the browser tests do. The recording is named by its path in the project, so no machine path shows.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from velib_replay import config
from velib_replay.job.stations_table import load_postcodes
from velib_replay.report import data as report_data
from velib_replay.report import write_report

DOCS = Path(__file__).resolve().parent
SAMPLE = Path("recordings") / "sample"  # relative to the project folder, as the page shows it
VIEWPORT = {"width": 1280, "height": 900}


def main() -> None:
    os.chdir(DOCS.parent)
    chromium = os.environ.get("VELIB_REPLAY_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium on PATH (apt-get install chromium, or set VELIB_REPLAY_CHROMIUM)")
    data = report_data.from_recording(SAMPLE, load_postcodes(config.stations_table()))
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        page_file = write_report(data, Path(folder) / "sample.html", images=False).page
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(page_file.as_uri())
        page.locator("#map .scatterlayer").wait_for()
        page.screenshot(path=str(DOCS / "report.png"))
        page.locator("#map").screenshot(path=str(DOCS / "report-map.png"))
        browser.close()
    print(f"Wrote {DOCS / 'report.png'} and {DOCS / 'report-map.png'}")


if __name__ == "__main__":
    main()
