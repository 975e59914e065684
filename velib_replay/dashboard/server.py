"""The dashboard's HTTP server (stdlib, one thread per client): the page, and an event stream per open page.

Each ``/events`` client gets the whole state on connect and whenever the topic's contents change, and a
``status`` event every second, so the age and the quiet notice move even when no data does.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from plotly.offline import get_plotlyjs

from velib_replay.dashboard import control, page
from velib_replay.dashboard.follow import Follower
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget

STATUS_EVERY_S = 1.0
MAX_BODY = 4096  # a control action's JSON


@cache
def _plotly() -> bytes:
    """plotly.js from the installed package (4.6 MB, read once): the page needs no network."""
    return get_plotlyjs().encode()


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer

    def do_GET(self) -> None:
        if self.path == "/":
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", self.server.page)
        elif self.path == page.SCRIPT_PATH:
            self._send(HTTPStatus.OK, "text/javascript; charset=utf-8", self.server.script)
        elif self.path == page.PLOTLY_PATH:
            self._send(HTTPStatus.OK, "text/javascript; charset=utf-8", _plotly())
        elif self.path == "/events":
            self._stream()
        elif self.server.control_url and self.path == control.SCRIPT_PATH:
            self._send(HTTPStatus.OK, "text/javascript; charset=utf-8", control.SCRIPT.encode())
        elif self.server.control_url and self.path == control.PREFIX + "status":
            self._send(*self._forwarded("status", None))
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")

    def do_POST(self) -> None:
        """The replay's controls, forwarded to ``play --control`` (``dashboard.control``)."""
        action = self.path.removeprefix(control.PREFIX)
        if not (self.server.control_url and self.path.startswith(control.PREFIX) and action in control.ACTIONS[1:]):
            return self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")
        if not control.same_origin(self.headers):
            return self._send(
                HTTPStatus.FORBIDDEN, "application/json", b'{"error": "only this page drives the replay"}'
            )
        length = int(self.headers.get("Content-Length") or 0)
        self._send(*self._forwarded(action, self.rfile.read(min(length, MAX_BODY)) or b"{}"))

    def _forwarded(self, action: str, body: bytes | None) -> tuple[HTTPStatus, str, bytes]:
        status, payload = control.forward(self.server.control_url, action, body)
        return HTTPStatus(status), "application/json", payload

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", page.CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        follower, seen = self.server.follower, -1
        try:
            while not self.server.closing.is_set():
                version = follower.wait(seen, STATUS_EVERY_S) if seen >= 0 else follower.version
                if version != seen:
                    self._event("state", follower.state())
                    seen = version
                self._event("status", follower.status())
        except (BrokenPipeError, ConnectionResetError):  # the page was closed
            return

    def _event(self, name: str, payload: dict) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(payload, allow_nan=False)}\n\n".encode())
        self.wfile.flush()

    def log_message(self, format: str, *args) -> None:
        """Quiet: one line per request would drown the terminal."""


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, follower: Follower, host: str, port: int, control_url: str | None = None):
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise UserError(f"cannot serve the dashboard on {host}:{port}: {error.strerror or error}") from None
        self.follower = follower
        self.control_url = control_url  # play --control's endpoint, driven from the page
        self.page = page.render(follower.indicators_topic, follower.status_topic, bool(control_url)).encode()
        self.script = page.script().encode()
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> DashboardServer:
        """Serve in a thread (what the tests use; the CLI serves in its own thread)."""
        threading.Thread(target=self.serve_forever, name="dashboard-server", daemon=True).start()
        return self

    def close(self) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()
        self.follower.stop()


def open_dashboard(
    kafka: KafkaTarget,
    indicators_topic: str,
    status_topic: str,
    host: str,
    port: int,
    quiet_after: float,
    control_url: str | None = None,
    key_fields: tuple[str, ...] | None = None,
) -> DashboardServer:
    """A server following the topics, not yet serving: ``start()`` it, or ``serve_forever()``; ``close()`` after.
    With ``control_url`` (what ``play --control`` printed) the page drives that replay; ``key_fields`` key a topic
    written without Kafka keys (the original consumer's) by those value fields."""
    follower = Follower(kafka, indicators_topic, status_topic, quiet_after=quiet_after, key_fields=key_fields).start()
    try:
        return DashboardServer(follower, host, port, control_url)
    except UserError:
        follower.stop()
        raise
