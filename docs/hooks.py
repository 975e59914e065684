"""mkdocs hook: GitHub needs a pipe inside a table's code span escaped (``\\|``), Python-Markdown renders the
backslash; it needs no escape there, so table rows lose it before rendering and the page reads as on GitHub."""

from __future__ import annotations

import re

_TABLE_ROW = re.compile(r"^\|.*$", re.M)


def on_page_markdown(markdown: str, **_: object) -> str:
    return _TABLE_ROW.sub(lambda row: row.group(0).replace("\\|", "|"), markdown)
