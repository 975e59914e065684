"""A fake Vélib' API: a real loopback HTTP server that misbehaves on cue.

``ScriptedApi`` answers each request to a path with the next scripted fault or body,
like the real API on a bad day. Its fixtures (``api_server``, ``api``) are shared by
the API client, recorder and live tests through conftest.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from velib_replay.capture.client import ClientSettings
from velib_replay.contracts.feed import minified

Action = Callable[[Request], Response]
FAST = ClientSettings(connect_timeout=1.0, timeout=0.3, retries=3, backoff_factor=0.01, backoff_jitter=0.01)


def status_body(clock: int, codes: tuple[str, ...] = ("16107", "32017")) -> bytes:
    """A small station_status document in the real feed's shape and style."""
    stations = [
        {
            "stationCode": code,
            "station_id": index,
            "num_bikes_available": 3,
            "num_bikes_available_types": [{"mechanical": 2}, {"ebike": 1}],
            "num_docks_available": 7,
            "is_installed": 1,
            "is_renting": 1,
            "is_returning": 1,
            "last_reported": clock,
        }
        for index, code in enumerate(codes)
    ]
    return minified({"lastUpdatedOther": clock, "ttl": 3600, "data": {"stations": stations}})


def ok(body: bytes, content_type: str = "application/json") -> Action:
    return lambda _request: Response(body, content_type=content_type)


def status(code: int, retry_after: str | None = None) -> Action:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return lambda _request: Response(b"<html>error</html>", status=code, headers=headers, content_type="text/html")


def slow(seconds: float, body: bytes = b"{}") -> Action:
    def answer(_request: Request) -> Response:
        time.sleep(seconds)
        return Response(body, content_type="application/json")

    return answer


def reset(_request: Request) -> Response:
    """Drop the connection with a TCP reset before any answer."""
    sock = _request.environ["werkzeug.socket"]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.shutdown(socket.SHUT_RDWR)
    return Response(b"")


def truncated(body: bytes, keep: int) -> Action:
    """Announce the whole body, send ``keep`` bytes, hang up."""

    def answer(_request: Request) -> Response:
        return Response(
            iter([body[:keep]]), headers={"Content-Length": str(len(body))}, content_type="application/json"
        )

    return answer


def gzip_encoded(body: bytes) -> Action:
    return lambda _request: Response(
        gzip.compress(body), headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )


class ScriptedApi:
    """Each path answers with its next scripted action, then with ``then`` once the script is used up."""

    def __init__(self, server: HTTPServer):
        self.server = server
        self._scripts: dict[str, deque[Action]] = {}
        self._then: dict[str, Action] = {}
        self.requests: dict[str, list[tuple[float, Request]]] = {}
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def script(self, path: str, *actions: Action, then: Action | None = None) -> str:
        with self._lock:
            new = path not in self._scripts
            self._scripts[path] = deque(actions)
            self._then[path] = then or status(500)
            self.requests.setdefault(path, [])
        if new:
            self.server.expect_request(path).respond_with_handler(lambda request: self._answer(path, request))
        return self.url(path)

    def _answer(self, path: str, request: Request) -> Response:
        with self._lock:
            self.requests[path].append((time.monotonic(), request))
            script = self._scripts[path]
            action = script.popleft() if script else self._then[path]
        return action(request)

    def count(self, path: str) -> int:
        return len(self.requests.get(path, []))


@pytest.fixture(scope="module", name="api_server")
def loopback_server() -> Iterator[HTTPServer]:
    """A threaded loopback server, so a request left hanging does not block the retry behind it."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="api")
def scripted_api(api_server: HTTPServer) -> Iterator[ScriptedApi]:
    yield ScriptedApi(api_server)
    api_server.clear()


class RawServer:
    """A loopback TCP server that answers every connection with ``serve(socket)``: for answers no HTTP
    framework will send (a body dripped forever, an endless chunked body). Connections are closed at exit."""

    def __init__(self, serve: Callable[[socket.socket], None]):
        self._serve = serve
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/station_status.json"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)  # the request; its content does not matter here
            with contextlib.suppress(OSError):  # the client hung up, as it should
                self._serve(connection)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._listener.close()


DRIP_FOR = 20.0  # s: even a client that never gives up gets an end, so a regression fails instead of hanging


def dripping(head: bytes, piece: bytes, every: float = 0.0) -> Callable[[socket.socket], None]:
    """Send ``head``, then ``piece`` every ``every`` seconds until the client hangs up (or DRIP_FOR is over)."""

    def serve(connection: socket.socket) -> None:
        connection.sendall(head)
        until = time.monotonic() + DRIP_FOR
        while time.monotonic() < until:
            connection.sendall(piece)
            time.sleep(every)

    return serve


DRIP_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNK = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB a chunk, forever
