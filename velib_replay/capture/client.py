"""Fetching the Vélib' API robustly, and keeping its credentials out of everything stored.

One ``requests`` session with urllib3's ``Retry`` does the retrying (connection
errors, read timeouts, 5xx, 429), so there is no hand-written retry loop. A fetch
never raises for a network or HTTP fault: it returns a :class:`Fetch` that says
what came back, or why nothing usable did, so the caller can record it as a gap.
Bodies are read piece by piece so a truncated body keeps the bytes that did arrive.

Every fetch is bounded in time and memory: each attempt must deliver its whole
response (connection, headers and body) within ``timeout`` seconds, which socket
timeouts alone cannot promise (they bound each read, so a server dripping a few
bytes at a time would hold a fetch forever); a watchdog timer shuts the socket of
an attempt that outlives it. (An HTTPS handshake comes before the attempt's request
and is bounded by ``connect_timeout`` per read only.) A body over ``max_body`` bytes
(decoded, so a gzip bomb counts at its real size) is abandoned. Both end as gaps
with their reason; a body that timed out is not fetched again, like a truncated one.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, NewConnectionError, ResponseError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.poolmanager import PoolManager
from urllib3.util.retry import Retry

from velib_replay import __version__
from velib_replay.errors import UserError
from velib_replay.recording import Poll
from velib_replay.units import format_bytes

USER_AGENT = f"velib-replay/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_SENSITIVE = re.compile(r"key|token|secret|passw|auth|session|signature|^sig$|credential|cookie|bearer", re.IGNORECASE)
READ_CHUNK = 64 * 1024
DEFAULT_MAX_BODY = 16_000_000  # 35x the real feed's 457 KB: room to grow, never a MemoryError
_POOL_PREFIX = re.compile(r"^\w*ConnectionPool\([^)]*\): |^<[^>]*>: ")


def is_sensitive(name: str) -> bool:
    """Whether a query parameter or header name looks like it carries a credential."""
    return bool(_SENSITIVE.search(name))


def redact_url(url: str) -> str:
    """The URL without user:password and without query parameters that carry keys or tokens."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if not is_sensitive(name)]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(query), parts.fragment))


def secrets_of(url: str, headers: Mapping[str, str]) -> set[str]:
    """Every credential value in a URL and headers, to be scrubbed from error messages."""
    parts = urlsplit(url)
    values = {value for name, value in parse_qsl(parts.query) if is_sensitive(name)}
    values |= {value for name, value in headers.items() if is_sensitive(name)}
    if parts.password:
        values.add(parts.password)
    for value in list(values):
        values |= {quote(value, safe=""), quote_plus(value)}
        values |= set(value.split())  # "Bearer abc": the token alone too
    return {value for value in values if len(value) >= 4}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced, longest first so no fragment is left behind."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def check_url(url: str, what: str = "URL") -> str:
    """``url`` if it is an absolute http(s) URL, else a one-line UserError (a typo should not become gaps)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{what} {redact_url(url)!r} is not an http:// or https:// URL")
    return url


def parse_header(spec: str) -> tuple[str, str]:
    """``"Name: value"`` as given on the command line."""
    name, colon, value = spec.partition(":")
    if not colon or not name.strip():
        raise UserError(f"header {spec.split(':')[0]!r} is not of the form 'Name: value'")
    return name.strip(), value.strip()


@dataclass(frozen=True)
class ClientSettings:
    """Timeouts, the body size cap and the retry policy; the defaults fit one poll a minute."""

    connect_timeout: float = 5.0
    timeout: float = 20.0  # the whole response of one attempt: connection, headers and body
    max_body: int = DEFAULT_MAX_BODY  # bytes, decoded
    retries: int = 3
    backoff_factor: float = 0.5  # sleeps 0, 1, 2, 4… s between attempts (urllib3 skips the first)
    backoff_max: float = 30.0
    backoff_jitter: float = 0.5
    max_retry_after: float = 60.0  # a longer Retry-After ends the fetch; the caller waits before the next
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Tally:
    failures: int = 0
    gave_up: bool = False

    @property
    def attempts(self) -> int:
        return self.failures if self.gave_up else self.failures + 1


class Deadline:
    """The watchdog of one client: shuts the socket of an attempt still running ``seconds`` after it began.

    Armed by the connection at the start of each attempt (urllib3 retries inside one
    call, so only the connection sees attempts begin), disarmed when the attempt
    failed (by the retry policy) or its body was read; a retried 5xx stays armed while
    urllib3 drains its body, which a dripping server would otherwise make endless. ``expired`` tells the last
    attempt's fate; a shut socket makes the blocked read return, so urllib3 retries
    or the body reader stops.
    """

    def __init__(self, seconds: float):
        self.seconds = min(seconds, threading.TIMEOUT_MAX)  # a larger wait overflows the timer thread's clock
        self.expired = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def arm(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._cancel()
            self.expired = False
            self._timer = threading.Timer(self.seconds, self._expire, args=(connection,))
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        with self._lock:
            self._cancel()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, connection: HTTPConnection) -> None:
        with self._lock:
            if threading.current_thread() is not self._timer:  # disarmed (or re-armed) meanwhile
                return
            self.expired = True
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # the plain socket's, so TLS state is not touched across threads
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def reason(self) -> str:
        return f"timeout: whole response not received within {self.seconds:g} s"


_attempt = threading.local()  # the fetching thread's Deadline, for the connections it uses


class _ArmsDeadline:
    """Mixin for urllib3 connections: each request (one attempt) arms the fetching thread's deadline."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline: Deadline | None = getattr(_attempt, "deadline", None)
        if deadline is not None:
            deadline.arm(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        """The response, unless the watchdog cut its headers short: then a timeout, which urllib3 retries."""
        response = super().getresponse()  # type: ignore[misc]
        deadline: Deadline | None = getattr(_attempt, "deadline", None)
        if deadline is not None and deadline.expired:
            response.close()
            raise TimeoutError(deadline.reason())
        return response


class _DeadlineConnection(_ArmsDeadline, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_ArmsDeadline, HTTPSConnection):
    pass


class _DeadlinePool(HTTPConnectionPool):
    ConnectionCls = _DeadlineConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _Adapter(HTTPAdapter):
    """requests' adapter whose connections arm the fetching thread's deadline at each attempt."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _use_deadline_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> PoolManager:
        manager = super().proxy_manager_for(proxy, **kwargs)
        _use_deadline_pools(manager)
        return manager


def _use_deadline_pools(manager: PoolManager) -> None:
    manager.pool_classes_by_scheme = {"http": _DeadlinePool, "https": _DeadlineHTTPSPool}


class _Retry(Retry):
    """urllib3's Retry that also counts attempts and won't sleep through a long Retry-After.

    A Retry-After longer than ``max_retry_after`` makes urllib3 hand back the 429 at
    once (``raise_on_status=False``); the caller then defers its next poll instead of
    blocking, which is how the recorder honours it.
    """

    max_retry_after: float = 60.0
    tally: _Tally | None = None
    deadline: Deadline | None = None

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.max_retry_after, retry.tally, retry.deadline = self.max_retry_after, self.tally, self.deadline
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None) -> _Retry:
        if self.deadline is not None and response is None:
            self.deadline.disarm()  # the attempt died: no watchdog firing during the backoff (a 5xx is drained first)
        if self.tally is not None:
            self.tally.failures += 1
        try:
            wait = self.get_retry_after(response) if response is not None else None
            if wait is not None and wait > self.max_retry_after:
                raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {wait:g} s"))  # type: ignore[arg-type]
            return super().increment(method, url, response, error, _pool, _stacktrace)
        except BaseException:
            if self.tally is not None:
                self.tally.gave_up = True
            raise


@dataclass(frozen=True)
class Fetch:
    """The outcome of one fetch: a body (maybe suspect, then ``error`` says why) or the reason there is none."""

    url: str  # redacted
    fetched_at: datetime
    latency_ms: float
    attempts: int
    status: int | None = None
    content_type: str | None = None
    body: bytes | None = None
    error: str | None = None
    retry_after: float | None = None

    def to_poll(self, feed: str) -> Poll:
        """The poll to hand to RecordingWriter.write together with ``body``."""
        return Poll(
            feed=feed,
            fetched_at=self.fetched_at,
            status=self.status,
            content_type=self.content_type,
            latency_ms=self.latency_ms,
            url=self.url,
            error=self.error,
            attempts=self.attempts,
        )


class ApiClient:
    """Fetches feed URLs with timeouts and retries; one instance per thread."""

    def __init__(self, settings: ClientSettings | None = None):
        self.settings = settings or ClientSettings()
        self._tally = _Tally()
        self._deadline = Deadline(self.settings.timeout)
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, **self.settings.headers})
        adapter = _Adapter(max_retries=self._retry())
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _retry(self) -> _Retry:
        s = self.settings
        retry = _Retry(
            total=s.retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            backoff_factor=s.backoff_factor,
            backoff_max=s.backoff_max,
            backoff_jitter=s.backoff_jitter,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        retry.max_retry_after, retry.tally, retry.deadline = s.max_retry_after, self._tally, self._deadline
        return retry

    def fetch(self, url: str) -> Fetch:
        """GET ``url``; never raises for network or HTTP faults (see the module docstring)."""
        self._tally.failures, self._tally.gave_up = 0, False
        secrets = secrets_of(url, self.session.headers)
        fetched_at = datetime.now(timezone.utc)
        started = time.monotonic()

        def done(**fields: Any) -> Fetch:
            latency = round((time.monotonic() - started) * 1000, 1)
            return Fetch(redact_url(url), fetched_at, latency, self._tally.attempts, **fields)

        _attempt.deadline = self._deadline
        try:
            outcome = self._get(url, secrets)
            if isinstance(outcome, str):
                return done(error=outcome)
            with outcome as response:
                head = {"status": response.status_code, "content_type": response.headers.get("Content-Type")}
                if not 200 <= response.status_code < 300:
                    return done(**head, **_http_failure(response, self._tally.attempts))
                body, error = self._read_body(response, secrets)
            return done(**head, body=body, error=error)
        finally:
            self._deadline.disarm()
            _attempt.deadline = None

    def _get(self, url: str, secrets: set[str]) -> requests.Response | str:
        """The response (its headers read), or the reason there is none."""
        s = self.settings
        try:
            return self.session.get(url, timeout=(min(s.connect_timeout, s.timeout), s.timeout), stream=True)
        except requests.RequestException as error:
            if self._deadline.expired:
                return f"{self._deadline.reason()} ({_attempts(self._tally.attempts)})"
            return scrub(_describe(error, self._tally.attempts), secrets)

    def _read_body(self, response: requests.Response, secrets: set[str]) -> tuple[bytes | None, str | None]:
        """The body, or None with the reason when it broke a bound; a cut body keeps the bytes that arrived."""
        cap = self.settings.max_body
        announced = _content_length(response)
        if announced is not None and announced > cap:
            return None, f"body over --max-body ({format_bytes(cap)}): {format_bytes(announced)} announced"
        body, error = _read_capped(response, cap, secrets)
        self._deadline.disarm()
        if self._deadline.expired:
            return None, f"{self._deadline.reason()} ({len(body)} bytes of body had arrived)"
        if len(body) > cap:
            return None, f"body over --max-body ({format_bytes(cap)}): abandoned after {format_bytes(len(body))}"
        return body, error

    def get_json(self, url: str) -> Any:
        """A small JSON document (gbfs.json), or a UserError saying why not."""
        fetch = self.fetch(url)
        if fetch.body is None or fetch.error:
            raise UserError(f"cannot read {fetch.url}: {fetch.error or 'no body'}")
        try:
            return json.loads(fetch.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise UserError(f"{fetch.url} is not JSON") from None

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _read_capped(response: requests.Response, cap: int, secrets: set[str]) -> tuple[bytes, str | None]:
    """The decoded body, stopping once it exceeds ``cap``, and why it is incomplete if it is."""
    read = getattr(response.raw, "read1", response.raw.read)
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= cap and (chunk := read(READ_CHUNK, decode_content=True)):
            chunks.append(chunk)
            size += len(chunk)
    except Exception as error:  # urllib3 raises several families here; all mean "body cut short"
        root = _root(error)
        reason = f"truncated: body cut after {size} bytes ({type(root).__name__}: {root})"
        return b"".join(chunks), scrub(reason, secrets)
    return b"".join(chunks), None


def _content_length(response: requests.Response) -> int | None:
    """The announced (possibly encoded) size: a body only grows when decoded, so it may refuse at once."""
    try:
        return int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None


def _http_failure(response: requests.Response, attempts: int) -> dict[str, Any]:
    """A non-2xx answer: the reason, and how long the server asked us to wait."""
    wait = _retry_after(response)
    reason = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
    if response.status_code == 429:
        reason = f"rate limited: {reason}"
    if wait is not None:
        reason += f", Retry-After {wait:g} s"
    return {"error": f"{reason} ({_attempts(attempts)})", "retry_after": wait}


def _retry_after(response: requests.Response) -> float | None:
    """The Retry-After header in seconds (delta or HTTP date), None when absent or malformed."""
    value = response.headers.get("Retry-After")
    try:
        return Retry().parse_retry_after(value) if value else None
    except InvalidHeader:
        return None


def _describe(error: requests.RequestException, attempts: int) -> str:
    """``timeout: …`` or ``connection: …`` with the innermost cause, short enough for one line."""
    root = _root(error)
    timed_out = isinstance(root, (TimeoutError, Urllib3Timeout)) and not isinstance(root, NewConnectionError)
    kind = "timeout" if timed_out else "connection"
    text = _POOL_PREFIX.sub("", str(root))
    return f"{kind}: {type(root).__name__}: {text} ({_attempts(attempts)})"


def _attempts(attempts: int) -> str:
    return "1 attempt" if attempts == 1 else f"{attempts} attempts"


def _root(error: BaseException) -> BaseException:
    """The innermost cause under requests' and urllib3's wrapping."""
    while True:
        inner = getattr(error, "reason", None) or (error.args[0] if error.args else None)
        if not isinstance(inner, BaseException) or inner is error:
            return error
        error = inner


def feeds_from_gbfs(document: Any, base_url: str, lang: str | None = None) -> dict[str, str]:
    """``{feed name: url}`` from a gbfs.json, GBFS 1/2 (``data.<lang>.feeds``: ``lang``, else the first
    language listed) or 3 (``data.feeds``, one list whatever the language)."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise UserError("gbfs.json has no data object")
    feeds = data.get("feeds")
    if feeds is None:
        languages = {name: value for name, value in data.items() if isinstance(value, dict) and "feeds" in value}
        if lang is not None and lang not in languages:
            raise UserError(f"gbfs.json has no feeds in --lang {lang!r} (it has: {', '.join(languages) or 'none'})")
        chosen = languages.get(lang) if lang is not None else next(iter(languages.values()), None)
        feeds = chosen["feeds"] if chosen else None
    if not isinstance(feeds, list):
        raise UserError("gbfs.json lists no feeds")
    return {
        feed["name"]: urljoin(base_url, feed["url"])
        for feed in feeds
        if isinstance(feed, dict) and isinstance(feed.get("name"), str) and isinstance(feed.get("url"), str)
    }


def discover_feeds(client: ApiClient, gbfs_url: str, lang: str | None = None) -> dict[str, str]:
    """The feed URLs a GBFS auto-discovery file announces (station_status at least)."""
    feeds = feeds_from_gbfs(client.get_json(gbfs_url), gbfs_url, lang)
    if "station_status" not in feeds:
        raise UserError(f"{redact_url(gbfs_url)} lists no station_status feed (it has: {', '.join(feeds) or 'none'})")
    return feeds
