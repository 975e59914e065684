"""``python -m velib_replay`` runs the CLI."""

from velib_replay.cli import main

main()
