"""A long-running command in a subprocess whose /metrics and /healthz the tests scrape, as an operator would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

_URL = re.compile(r"metrics at (http://[\d.]+:\d+)/metrics")


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read().decode()


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text as name{label="value"} → value, read with prometheus_client's own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


class Observed:
    """``velib-replay ARGS --metrics-port 0 --log-format json``; stderr lines are collected as they come."""

    def __init__(self, *args: str):
        command = [sys.executable, "-m", "velib_replay", *args, "--metrics-port", "0", "--log-format", "json"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.base = self.until(self._url, "the metrics URL in the log", timeout=60)

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def _url(self) -> str | None:
        found = next((_URL.search(line) for line in self.lines if _URL.search(line)), None)
        return found.group(1) if found else None

    def until(self, value: Callable[[], object], what: str, timeout: float = 30) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = value()
            if result:
                return result
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode} waiting for {what}:\n" + "\n".join(self.lines))
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout} s:\n" + "\n".join(self.lines[-20:]))

    def metrics(self) -> dict[str, float]:
        return parse_metrics(get(self.base + "/metrics"))

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def events(self) -> list[dict]:
        """Every stderr line as JSON (a line that is not JSON fails the test here)."""
        return [json.loads(line) for line in list(self.lines)]

    def stop(self, signum: int | None, timeout: float = 60) -> tuple[int, str]:
        """Exit status and output, after ``signum`` (or, with None, once the process ends by itself)."""
        if signum is not None:
            self.process.send_signal(signum)
        stdout, _ = self.process.communicate(timeout=timeout)
        self._reader.join(timeout=10)
        return self.process.returncode, stdout
