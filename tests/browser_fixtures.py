"""A headless Chromium (Debian's package, driven by Playwright), and screenshots kept as test artefacts.

Playwright's own browser download is never used: the tests launch the system's chromium (or the one
VELIB_REPLAY_CHROMIUM names). Without it, every browser test skips with the reason, and the rest runs.
Screenshots go to the test's tmp folder; with VELIB_REPLAY_SCREENSHOTS=docs they are also written to
docs/ (the docs' images).
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
PAGE_TIMEOUT_MS = 120_000  # parsing plotly.js (4.6 MB) takes a second alone, a minute on a machine shared by many


def chromium_path() -> str | None:
    named = os.environ.get("VELIB_REPLAY_CHROMIUM")
    return named or next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def _skip(reason: str):
    message = f"BROWSER TESTS SKIPPED: {reason}"
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _skip("the playwright package is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    if executable is None:
        _skip("no chromium on PATH (apt-get install chromium, or set VELIB_REPLAY_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        except Error as error:
            _skip(f"{executable} does not start: {str(error).splitlines()[0]}")
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def screenshot(tmp_path: Path):
    """``screenshot(page or locator, "report")``: a PNG in the test's folder (and in $VELIB_REPLAY_SCREENSHOTS)."""

    def take(target, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        target.screenshot(path=str(path))
        if folder := os.environ.get("VELIB_REPLAY_SCREENSHOTS"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(folder) / path.name)
        return path

    return take
