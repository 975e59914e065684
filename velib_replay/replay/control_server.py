"""``play --control``'s HTTP endpoint on loopback: JSON in and out, one ``Control`` behind it.

    GET  /status                               where the replay is
    POST /pause, /resume
    POST /step   {"snapshots": N}              exactly the next N snapshots, then hold
    POST /seek   {"to": "90m" or ISO time}     the next snapshot sent is the first at or after it
    POST /speed  {"speed": "60x"}              the --speed syntax, max too

Every answer is the status (or ``{"error": ...}`` with a 4xx). Values are parsed by the same parsers as the
CLI's options. A POST must say ``Content-Type: application/json`` and name this host, so a web page the user
happens to visit cannot drive the replay (its request would need a CORS preflight, which is never granted).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from velib_replay.errors import UserError
from velib_replay.replay.control import Control
from velib_replay.units import parse_offset, parse_speed

HOST = "127.0.0.1"
MAX_BODY = 4096
EXAMPLES = {"to": "90m", "speed": "60x"}  # shown when a body lacks its value


def _step(control: Control, body: dict) -> dict:
    return control.step(body.get("snapshots", 1))


def _seek(control: Control, body: dict) -> dict:
    return control.seek(parse_offset(_text(body, "to")))


def _speed(control: Control, body: dict) -> dict:
    return control.set_speed(parse_speed(_text(body, "speed")))


ACTIONS: dict[str, Callable[[Control, dict], dict]] = {
    "/pause": lambda control, _body: control.pause(),
    "/resume": lambda control, _body: control.resume(),
    "/step": _step,
    "/seek": _seek,
    "/speed": _speed,
}


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ValueError(f'the body needs "{name}" as a string, e.g. {json.dumps({name: EXAMPLES[name]})}')
    return value


class _Handler(BaseHTTPRequestHandler):
    server: ControlServer

    def do_GET(self) -> None:
        if self.path != "/status":
            return self._answer(HTTPStatus.NOT_FOUND, {"error": f"no {self.path}: GET /status"})
        self._answer(HTTPStatus.OK, self.server.control.status())

    def do_POST(self) -> None:
        action = ACTIONS.get(self.path)
        if action is None:
            return self._answer(HTTPStatus.NOT_FOUND, {"error": f"no {self.path}: POST {', '.join(ACTIONS)}"})
        try:
            body = self._body()
            self._answer(HTTPStatus.OK, action(self.server.control, body))
        except ValueError as error:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": str(error)})

    def _body(self) -> dict[str, Any]:
        if self.headers.get("Host") not in self.server.hosts:
            raise ValueError(f"Host must be one of {', '.join(sorted(self.server.hosts))}")
        if self.headers.get_content_type() != "application/json":
            raise ValueError("send Content-Type: application/json")
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise ValueError(f"a body of at most {MAX_BODY} bytes")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError("the body is not JSON") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def _answer(self, status: HTTPStatus, payload: dict) -> None:
        body = (json.dumps(payload) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the progress bar owns the terminal; the actions are in the statistics."""


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, control: Control, port: int = 0):
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as error:
            raise UserError(f"cannot open the control endpoint on {HOST}:{port}: {error.strerror or error}") from None
        self.control = control
        bound = self.server_address[1]
        self.hosts = {f"{HOST}:{bound}", f"localhost:{bound}"}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def start(self) -> ControlServer:
        threading.Thread(target=self.serve_forever, name="play-control", daemon=True).start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()
