"""``velib-replay serve``: a recording played back *as the API*, so anything that polls can be tested.

GET ``…/station_status.json`` answers the byte-exact body that was current at
the replay time (recording start + elapsed * speed), ``…/station_information.json``
likewise, ``…/gbfs.json`` lists both. Only the last path segment is matched, so a
client configured with the real API's paths works unchanged. With ``--speed max``
each request gets the next recorded body instead, whatever the clock says.

Recorded invalid bodies are served as recorded (they are what the API sent);
gaps are skipped, or answered 503 with ``gaps=True`` to reproduce outages. The
``X-Velib-Replay-*`` headers tell which recorded poll answered. A body the server
cannot read from disk (a truncated ``.gz``…) is answered 500, logged and counted
as failed, never a silently dropped connection counted as served. A damaged body (not the one its
meta file's sha256 names) is answered 500 too, and ``damaged`` tells the caller to stop serving.

With an :class:`~velib_replay.capture.faults.HttpInjector`, each feed request may get a
fault instead (``serve --inject``). At ``--speed max`` only a correct answer (or a
slow one) moves on to the next body, so a client that keeps polling still gets every
recorded body: whatever it misses was never served correctly.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import json
import logging
import select
import socket
import statistics
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from velib_replay.capture.faults import HttpFault, HttpInjector
from velib_replay.config import HANG_S
from velib_replay.contracts.feed import declared_version
from velib_replay.errors import UserError
from velib_replay.recording import CONTEXT_FEEDS, INFO_FEED, STATUS_FEED, DamagedBody, Poll, Recording, RecordingError

log = logging.getLogger(__name__)

FEEDS = (STATUS_FEED, INFO_FEED, *CONTEXT_FEEDS)
GBFS = "gbfs"
DEFAULT_PORT = 8000


class Timeline:
    """One feed's recorded answers in time order, each at its offset (s) from the recording's start."""

    def __init__(self, polls: list[Poll], origin: float):
        self.polls = polls
        self.offsets = [poll.fetched_at.timestamp() - origin for poll in polls]

    def __len__(self) -> int:
        return len(self.polls)

    def index_at(self, offset: float) -> int:
        """The poll current at ``offset``; before the first one, the first (the feed had no older answer)."""
        return max(0, bisect.bisect_right(self.offsets, offset) - 1)


class ReplayClock:
    """Which recorded poll answers now, for every feed; shared by the server's threads."""

    def __init__(
        self,
        recording: Recording,
        speed: float | None,
        *,
        loop: bool = False,
        gaps: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        polls = recording.polls()
        if not any(poll.feed == STATUS_FEED and not poll.is_gap for poll in polls):
            raise UserError(f"{recording.path}: no {STATUS_FEED} body to serve")
        origin = polls[0].fetched_at.timestamp()
        served = [poll for poll in polls if gaps or not poll.is_gap]
        self.timelines = {feed: Timeline([p for p in served if p.feed == feed], origin) for feed in FEEDS}
        self.timelines = {feed: line for feed, line in self.timelines.items() if len(line)}
        self.speed, self.loop, self.clock = speed, loop, clock
        self.span = _span(Timeline([poll for poll in polls if poll.feed == STATUS_FEED], origin).offsets)
        self.started = clock()
        self._cursors = dict.fromkeys(self.timelines, 0)
        self._lock = threading.Lock()
        self.version = self._version(recording, self.timelines[STATUS_FEED].polls[0])

    @property
    def feeds(self) -> list[str]:
        return list(self.timelines)

    @staticmethod
    def _version(recording: Recording, poll: Poll) -> str:
        """The GBFS version the first recorded status body declares; 2.3 when it declares none (Vélib')."""
        try:
            return declared_version(recording.body(poll)) or "2.3"
        except RecordingError:  # a recorded gap, or an unreadable body
            return "2.3"

    def current(self, feed: str, *, advance: bool = True) -> tuple[Poll, int]:
        """The poll answering a request for ``feed`` now, and its index in the feed's timeline.

        In max mode the request takes that poll (the next request gets the next one) unless ``advance``
        is False: a request answered with a fault must not use up a body.
        """
        timeline = self.timelines[feed]
        index = self._next_index(feed, advance) if self.speed is None else timeline.index_at(self.offset())
        return timeline.polls[index], index

    def offset(self) -> float:
        """Replay time: seconds since the recording's start, scaled by the speed, wrapped when looping."""
        elapsed = (self.clock() - self.started) * (self.speed or 1.0)
        return elapsed % self.span if self.loop else elapsed

    def _next_index(self, feed: str, advance: bool) -> int:
        """In max mode: each request takes the next poll; at the end, wrap (loop) or stay on the last."""
        size = len(self.timelines[feed])
        with self._lock:
            index = self._cursors[feed]
            self._cursors[feed] = index + advance
        return index % size if self.loop else min(index, size - 1)

    def is_last(self, feed: str, index: int) -> bool:
        """Whether a max-speed, non-looping replay has just served ``feed``'s last body."""
        return self.speed is None and not self.loop and index == len(self.timelines[feed]) - 1


def _span(offsets: list[float]) -> float:
    """The length of one loop: the last status poll plus one typical interval, so it is served too."""
    steps = [later - earlier for earlier, later in itertools.pairwise(offsets) if later > earlier]
    return offsets[-1] + (statistics.median(steps) if steps else 60.0)


def gbfs_document(feeds: list[str], base_url: str, now: float, version: str = "2.3") -> bytes:
    """An auto-discovery file listing the feeds this server replays, in the recorded system's major version:
    ``data.feeds`` for 3.x, ``data.en.feeds`` before (the recorded system's languages are not kept)."""
    listed = [{"name": feed, "url": f"{base_url}/{feed}.json"} for feed in feeds]
    data = {"feeds": listed} if version.startswith("3.") else {"en": {"feeds": listed}}
    document = {"last_updated": int(now), "ttl": 0, "version": version, "data": data}
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    failed: bool = False  # the server's fault (an unreadable recorded body), not the client's
    fault: HttpFault | None = None  # injected: how the handler misbehaves on the wire


class ReplayServer(ThreadingHTTPServer):
    """A threading HTTP server answering from a ReplayClock; ``start()`` runs it in a thread."""

    daemon_threads = True

    def __init__(
        self,
        replay: ReplayClock,
        recording: Recording,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        injector: HttpInjector | None = None,
        on_finished: Callable[[], None] | None = None,
    ):
        self.replay = replay
        self.recording = recording
        self.injector = injector
        self.on_finished = on_finished  # called once a max-speed replay has served its last status body correctly
        self.requests_served = 0
        self.requests_failed = 0
        self.damaged: str | None = None  # the first body met that is not the recorded one: serving must stop
        self.stopping = threading.Event()
        self._last_good: dict[str, tuple[Poll, int]] = {}
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._body = functools.lru_cache(maxsize=8)(recording.body)
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise UserError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, path: str, host_header: str | None) -> Answer:
        """The answer to a GET or HEAD of ``path``, counted as served or failed."""
        answer = self._answer(path, host_header)
        with self._count_lock:
            if answer.failed:
                self.requests_failed += 1
            else:
                self.requests_served += 1
        return answer

    def summary(self) -> str:
        failed = f", {self.requests_failed} failed (unreadable recorded bodies, see the log)"
        faults = f"; {self.injector.summary()}" if self.injector else ""
        return f"{self.requests_served} requests served" + (failed if self.requests_failed else "") + faults

    def _answer(self, path: str, host_header: str | None) -> Answer:
        name = urlsplit(path).path.rstrip("/").rpartition("/")[2].removesuffix(".json")
        if name == GBFS:
            base = f"http://{host_header}" if host_header else self.url
            return Answer(200, gbfs_document(self.replay.feeds, base, time.time(), self.replay.version))
        if name not in self.replay.feeds:
            known = ", ".join(f"/{feed}.json" for feed in [GBFS, *self.replay.feeds])
            return Answer(404, json.dumps({"error": f"not found; this server has {known}"}).encode())
        fault = self.injector.decide(name) if self.injector else None
        if fault is None or fault.kind == "slow":
            return replace(self._recorded(name, self.replay.current(name)), fault=fault)
        if fault.kind == "error":
            body = json.dumps({"error": "injected fault: error"}).encode()
            return Answer(HTTPStatus.SERVICE_UNAVAILABLE, body, fault=fault)
        current = self.replay.current(name, advance=False)
        if fault.kind == "stale":  # the body last served correctly; before any, the current one, not used up
            return replace(self._recorded(name, self._last_good.get(name, current), good=False), fault=fault)
        return replace(self._recorded(name, current, good=False), fault=fault)

    def _recorded(self, feed: str, served: tuple[Poll, int], *, good: bool = True) -> Answer:
        """The answer from a recorded poll; ``good`` when it is the correct answer (then remembered for stale)."""
        poll, index = served
        headers = (
            ("X-Velib-Replay-Fetched-At", poll.fetched_text),
            ("X-Velib-Replay-Poll", f"{index + 1}/{len(self.replay.timelines[feed])}"),
        )
        if poll.is_gap:
            body = json.dumps({"error": f"recorded gap: {poll.error}"}).encode()
            return Answer(HTTPStatus.SERVICE_UNAVAILABLE, body, headers=headers)
        try:
            body = self._body(poll)
        except RecordingError as error:  # one line naming the file and why
            log.error("answered 500: %s", error)
            if isinstance(error, DamagedBody):
                self.damaged = self.damaged or str(error)
            message = json.dumps({"error": f"recorded body unreadable: {poll.body_file}"}).encode()
            return Answer(HTTPStatus.INTERNAL_SERVER_ERROR, message, headers=headers, failed=True)
        status = poll.status if poll.status and 200 <= poll.status < 300 else 200
        if good:
            self._served_correctly(feed, served)
        return Answer(status, body, poll.content_type or "application/json", headers)

    def _served_correctly(self, feed: str, served: tuple[Poll, int]) -> None:
        self._last_good[feed] = served
        if feed == STATUS_FEED and self.on_finished and self.replay.is_last(feed, served[1]):
            finished, self.on_finished = self.on_finished, None
            finished()

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.1,), name="velib-replay-serve", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle_error(self, request: object, client_address: tuple) -> None:
        """A client that hung up mid-answer is its business, not a traceback on the console."""
        log.debug("request from %s failed: %s", client_address, sys.exc_info()[1])

    def __enter__(self) -> ReplayServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server: ReplayServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._reply(send_body=True)

    def do_HEAD(self) -> None:
        self._reply(send_body=False)

    def _reply(self, *, send_body: bool) -> None:
        answer = self.server.answer(self.path, self.headers.get("Host"))
        kind = answer.fault.kind if answer.fault else None
        if kind == "reset":
            self._reset()
            return
        if kind == "timeout":
            self._hang()
            return
        if kind == "slow":
            time.sleep(answer.fault.delay_s)
        if kind is not None:
            answer = replace(answer, headers=(*answer.headers, ("X-Velib-Replay-Fault", kind)))
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        if kind == "truncate":  # the whole length announced, half of it sent, then hang up
            self.wfile.write(answer.body[: len(answer.body) // 2] if send_body else b"")
            self.close_connection = True
        elif send_body:
            self.wfile.write(answer.body)

    def _reset(self) -> None:
        """Hang up with a TCP reset (SO_LINGER 0), before any answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _hang(self) -> None:
        """Answer nothing until the client gives up (its socket closes), the server stops, or HANG_S pass."""
        self.close_connection = True
        deadline = time.monotonic() + HANG_S
        with contextlib.suppress(OSError):  # a client that hangs up with a reset has given up too
            while not self.server.stopping.is_set() and time.monotonic() < deadline:
                readable, _, _ = select.select([self.connection], [], [], 0.1)
                if readable and not self.connection.recv(65536):  # whatever it sends is never answered
                    return

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def serve(
    recording: Recording,
    *,
    speed: float | None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    loop: bool = False,
    gaps: bool = False,
    injector: HttpInjector | None = None,
    on_finished: Callable[[], None] | None = None,
) -> ReplayServer:
    """A bound (not yet started) server replaying ``recording``, with ``injector``'s faults if given."""
    replay = ReplayClock(recording, speed, loop=loop, gaps=gaps)
    return ReplayServer(replay, recording, host, port, injector=injector, on_finished=on_finished)
