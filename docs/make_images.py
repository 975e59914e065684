"""The docs' images, made from the bundled sample: ``python docs/make_images.py`` (Chromium and Playwright).

The report is the reference computation over ``recordings/sample`` (no Kafka needed), written to a temporary
folder. The dashboard follows a broker of its own (started on free ports in a temporary folder, stopped after)
whose topics have the pipeline's default names: the sample played to the status topic, the same reference
indicators on the indicators topic (no Spark needed). Both are photographed in headless Chromium (Debian's
``chromium``, or the binary ``VELIB_REPLAY_CHROMIUM`` names), as the browser tests do. The recording is named by
its path in the project, and the topics by their default names, so no machine path or test name shows.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaProducer
from playwright.sync_api import Browser, sync_playwright

from velib_replay import config
from velib_replay.dashboard.server import open_dashboard
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka import broker, topics
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.replay.player import replay_delivered
from velib_replay.report import data as report_data
from velib_replay.report import write_report
from velib_replay.verify.reference import over_recording

DOCS = Path(__file__).resolve().parent
SAMPLE = Path("recordings") / "sample"  # relative to the project folder, as the page shows it
VIEWPORT = {"width": 1280, "height": 900}
PAGE_TIMEOUT_MS = 120_000  # plotly.js takes a while to parse on a busy machine


def main() -> None:
    os.chdir(DOCS.parent)
    chromium = os.environ.get("VELIB_REPLAY_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium on PATH (apt-get install chromium, or set VELIB_REPLAY_CHROMIUM)")
    postcodes = load_postcodes(config.stations_table())
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        report_images(browser, postcodes, Path(folder))
        dashboard_image(browser, postcodes, Path(folder))
        browser.close()
    print(f"Wrote {', '.join(f'docs/{name}' for name in ('report.png', 'report-map.png', 'dashboard.png'))}")


def report_page(postcodes: dict[str, str], folder: Path) -> Path:
    """The report over the sample, as photographed (run from the project folder: the page names the recording)."""
    return write_report(report_data.from_recording(SAMPLE, postcodes), folder / "sample.html", images=False).page


def report_images(browser: Browser, postcodes: dict[str, str], folder: Path) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(report_page(postcodes, folder).as_uri())
    page.locator("#map .scatterlayer").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.screenshot(path=str(DOCS / "report.png"))
    page.locator("#map").screenshot(path=str(DOCS / "report-map.png"))
    page.close()


def dashboard_image(browser: Browser, postcodes: dict[str, str], folder: Path) -> None:
    with sample_topics(postcodes, folder / "kafka") as kafka:
        server = open_dashboard(
            kafka, config.INDICATORS_TOPIC, config.STATUS_TOPIC, "127.0.0.1", 0, quiet_after=600
        ).start()
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(server.url)
            last = max(row["snapshot_time"] for row in over_recording(Recording(SAMPLE), postcodes).values())
            page.locator("#latest-time", has_text=last).wait_for()
            page.locator("#lag", has_text="0.0s").wait_for()
            page.locator("#postcodes .xtick").first.wait_for()
            page.screenshot(path=str(DOCS / "dashboard.png"))
            page.close()
        finally:
            server.close()


@contextmanager
def sample_topics(postcodes: dict[str, str], data_dir: Path) -> Iterator[KafkaTarget]:
    """A broker of this script's own, its default-named topics holding the sample and its indicators."""
    embedded = broker.on_free_ports(data_dir)
    broker.start(embedded, timeout=180)
    try:
        kafka = KafkaTarget(embedded.bootstrap_servers)
        names = (config.STATUS_TOPIC, config.INDICATORS_TOPIC, config.QUARANTINE_TOPIC)
        topics.ensure_topics(kafka, topics.pipeline_topics(*names))
        replay_delivered(Recording(SAMPLE), kafka, config.STATUS_TOPIC)
        producer = KafkaProducer(**kafka.kafka_python(), acks="all")
        for key, row in over_recording(Recording(SAMPLE), postcodes).items():
            producer.send(config.INDICATORS_TOPIC, key=key.encode(), value=json.dumps(row).encode())
        producer.flush()
        producer.close()
        yield kafka
    finally:
        broker.stop(embedded)


if __name__ == "__main__":
    main()
