"""``velib-replay report``: one self-contained HTML page (and PNGs) of a recording's or a topic's indicators.

``data`` gathers what is shown, ``page`` renders the HTML, ``images`` draws the PNGs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from velib_replay.errors import UserError
from velib_replay.report.data import ReportData


@dataclass(frozen=True)
class Written:
    page: Path
    size: int  # bytes of the page
    images: list[Path]


def write_report(data: ReportData, out: Path, *, images: bool = True) -> Written:
    """The page at ``out``, and its PNGs beside it unless ``images`` is false."""
    from velib_replay.report.images import write_images  # matplotlib only when it is needed
    from velib_replay.report.page import write_page

    if out.is_dir():
        raise UserError(f"{out} is a folder: give the HTML file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    size = write_page(data, out)
    return Written(out, size, write_images(data, out) if images else [])
