"""Example command lines, read back from where users read them: the end of each verb's ``--help``, and the
```bash blocks of README.md and docs/ (a line starting with ``velib-replay``, its ``\\`` continuations joined, its
trailing ``# comment`` left out)."""

from __future__ import annotations

import re
from pathlib import Path

import click
from click.testing import CliRunner

from velib_replay import config
from velib_replay.cli import main

DOC_PAGES = (config.project_root() / "README.md", *sorted((config.project_root() / "docs").glob("*.md")))
_BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
_COMMENT = re.compile(r"\s+#.*$")


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable command's path (``("kafka", "start")``), in the order --help lists them."""
    found: list[tuple[str, ...]] = []
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        if isinstance(command, click.Group):
            found += commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def help_examples(path: tuple[str, ...]) -> list[str]:
    """The example lines at the end of the command's --help."""
    text = CliRunner().invoke(main, [*path, "--help"], terminal_width=200).output
    _, _, tail = text.partition("Examples:\n")
    return [line.strip() for line in tail.splitlines() if line.strip().startswith("velib-replay ")]


def doc_examples(page: Path) -> list[str]:
    """The ``velib-replay`` command lines of the page's bash blocks, in page order."""
    lines = []
    for block in _BASH_BLOCK.findall(page.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            line = " ".join(_COMMENT.sub("", line).split())
            if line.startswith("velib-replay "):
                lines.append(line)
    return lines
