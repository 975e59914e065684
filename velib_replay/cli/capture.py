"""Commands that talk to the Vélib' API or stand in for it: record, info, live, serve."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
