"""The observation endpoint: Prometheus text at ``/metrics`` and the health verdict at ``/healthz``, one port.

``prometheus_client.start_http_server`` serves only /metrics, so this is a small threading HTTP server
that delegates /metrics to ``prometheus_client.exposition`` and answers /healthz itself. Each command
has its own ``CollectorRegistry`` (no process-wide global), so tests can run several side by side.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from velib_replay.errors import UserError
from velib_replay.observe.health import Check, verdict

log = logging.getLogger(__name__)

PREFIX = "velib_replay_"


def counter(name: str, documentation: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    """A counter read from a count the command keeps anyway (the exposition adds ``_total``)."""
    return _family(
        CounterMetricFamily, name, documentation, {tuple((labels or {}).values()): value}, list(labels or {})
    )


def gauge(name: str, documentation: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    return _family(GaugeMetricFamily, name, documentation, {tuple((labels or {}).values()): value}, list(labels or {}))


def labelled_counter(name: str, documentation: str, label: str, values: dict[str, float]) -> Metric:
    """One counter family, a sample per label value (polls by outcome…)."""
    return _family(CounterMetricFamily, name, documentation, {(key,): value for key, value in values.items()}, [label])


def _family(
    kind: type[Metric], name: str, documentation: str, samples: dict[tuple[str, ...], float], labels: list[str]
) -> Metric:
    family = kind(PREFIX + name, documentation, labels=labels)
    for label_values, value in samples.items():
        family.add_metric(list(label_values), value)
    return family


@dataclass
class Observed:
    """What a command exposes: its registry and its health checks."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    checks: Sequence[Check] = ()


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, observed: Observed, host: str, port: int):
        self.observed = observed
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise UserError(f"cannot serve metrics on {host}:{port}: {error.strerror or error}") from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            self._send(200, generate_latest(self.server.observed.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._send(*verdict(self.server.observed.checks), "application/json")
        else:
            self._send(404, b'{"error": "not found; try /metrics or /healthz"}\n', "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


@contextlib.contextmanager
def serving(observed: Observed, port: int | None, host: str) -> Iterator[MetricsServer | None]:
    """Serve ``observed`` in a thread for the duration of the block; nothing when ``port`` is None."""
    if port is None:
        yield None
        return
    server = MetricsServer(observed, host, port)
    thread = threading.Thread(target=server.serve_forever, args=(0.2,), name="velib-replay-metrics", daemon=True)
    thread.start()
    log.info("metrics at %s/metrics, health at %s/healthz", server.url, server.url)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
