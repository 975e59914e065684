"""The docs' images name no machine path: the report page ``docs/make_images.py`` photographs names the sample by
its path in the project, whatever folder it is written to. (The dashboard image's topics are the pipeline's
default names, on a broker of the script's own.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from velib_replay import config
from velib_replay.job.stations_table import load_postcodes

ROOT = Path(__file__).resolve().parents[2]


def test_the_report_page_the_images_show_names_no_machine_path(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_images", ROOT / "docs" / "make_images.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.chdir(ROOT)
    text = script.report_page(load_postcodes(config.stations_table()), tmp_path).read_text()
    assert "recordings/sample" in text
    assert str(ROOT) not in text and str(tmp_path) not in text and str(Path.home()) not in text
