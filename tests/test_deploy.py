"""deploy/: the systemd units start commands and options the CLI really has, and systemd accepts them."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from velib_replay.cli import main

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def unit_settings(path: Path) -> dict[str, list[str]]:
    """``Key=value`` lines of a unit (keys may repeat, as Environment= does), comments skipped."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def env_file_names() -> set[str]:
    lines = (DEPLOY / "velib-replay.env").read_text().splitlines()
    return {line.partition("=")[0] for line in lines if line.strip() and not line.startswith("#")}


def command_of(unit: Path) -> click.Command:
    argv = shlex.split(unit_settings(unit)["ExecStart"][0])
    assert Path(argv[0]).name == "velib-replay"
    verb = main.commands[argv[1]]
    verb.make_context(argv[1], argv[2:])  # the options in ExecStart parse (a renamed option fails here)
    return verb


def envvars(command: click.Command) -> set[str]:
    return {param.envvar for param in command.params if isinstance(param.envvar, str)}


def test_there_is_a_unit_for_live_and_for_process_with_restart_and_a_graceful_stop():
    assert [unit.name for unit in UNITS] == ["velib-replay-live.service", "velib-replay-process.service"]
    for unit in UNITS:
        settings = unit_settings(unit)
        assert settings["Restart"] == ["on-failure"] and settings["KillSignal"] == ["SIGTERM"]
        assert settings["EnvironmentFile"] == ["/etc/velib-replay/velib-replay.env"]
        assert any(value.startswith("VELIB_REPLAY_METRICS_PORT=") for value in settings["Environment"])
        assert settings["SuccessExitStatus"] == ["143"]  # every verb exits 128 + SIGTERM when stopped by it


def test_every_setting_of_the_environment_file_is_read_by_one_of_the_commands():
    commands = [command_of(unit) for unit in UNITS]
    read = set().union(*(envvars(command) for command in commands)) | {"VELIB_REPLAY_CACHE_DIR"}  # config.cache_dir
    unit_env = {v.partition("=")[0] for unit in UNITS for v in unit_settings(unit)["Environment"]}
    assert env_file_names() | unit_env <= read, (env_file_names() | unit_env) - read


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_has_nothing_to_say_but_the_absent_install():
    verified = subprocess.run(["systemd-analyze", "verify", *map(str, UNITS)], capture_output=True, text=True)
    complaints = [line for line in verified.stderr.splitlines() if "is not executable" not in line]
    assert complaints == []
