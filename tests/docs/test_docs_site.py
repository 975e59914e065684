"""The documentation site builds with ``mkdocs build --strict``: a broken link or anchor, or a page left out of
the nav, fails CI (mkdocs.yml makes each of them a warning, and --strict turns warnings into a failure)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from velib_replay import config

ROOT = config.project_root()
PAGES = ("testing", "faults", "recording", "operating", "contracts", "benchmarks", "development", "commands")


def build(project: Path, site_dir: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of the project's mkdocs.yml into ``site_dir``."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
    )


def test_the_site_builds_strictly(tmp_path):
    result = build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    for page in PAGES:
        assert (tmp_path / "site" / page / "index.html").is_file(), page


def test_a_broken_anchor_a_missing_page_and_a_page_outside_the_nav_fail_the_build(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copy(ROOT / "mkdocs.yml", project)
    with (project / "docs" / "index.md").open("a") as index:
        index.write("\n[a](faults.md#no-such-section) [b](no-such-page.md)\n")
    (project / "docs" / "orphan.md").write_text("# Not in the nav\n")
    result = build(project, tmp_path / "site")
    assert result.returncode != 0
    for named in ("#no-such-section", "no-such-page.md", "orphan.md"):
        assert named in result.stderr, named
