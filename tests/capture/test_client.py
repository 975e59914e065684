"""The API client against a real loopback HTTP server that misbehaves on cue.

The scripted server and its faults live in fake_api.py.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from fake_api import (
    CHUNK,
    CHUNKED_HEAD,
    DRIP_HEAD,
    FAST,
    RawServer,
    dripping,
    gzip_encoded,
    ok,
    reset,
    slow,
    status,
    status_body,
    truncated,
)

from velib_replay.capture.client import (
    ApiClient,
    ClientSettings,
    Deadline,
    discover_feeds,
    feeds_from_gbfs,
    is_sensitive,
    parse_header,
    redact_url,
    scrub,
    secrets_of,
)
from velib_replay.cli.options import parse_size
from velib_replay.contracts.feed import minified
from velib_replay.errors import UserError


@pytest.fixture
def client() -> Iterator[ApiClient]:
    with ApiClient(FAST) as instance:
        yield instance


BODY = status_body(1760778556)


# ------------------------------------------------------------------ faults, one fetch each
def test_a_good_answer_is_returned_byte_for_byte(api, client):
    fetch = client.fetch(api.script("/s.json", ok(BODY)))
    assert (fetch.status, fetch.body, fetch.error, fetch.attempts) == (200, BODY, None, 1)
    assert fetch.content_type == "application/json"
    assert fetch.latency_ms > 0


def test_a_5xx_burst_is_retried_until_the_body_comes(api, client):
    url = api.script("/s.json", status(503), status(502), ok(BODY))
    fetch = client.fetch(url)
    assert (fetch.status, fetch.body, fetch.attempts) == (200, BODY, 3)
    assert api.count("/s.json") == 3


def test_a_5xx_that_lasts_ends_as_a_reason_not_an_exception(api, client):
    fetch = client.fetch(api.script("/s.json", then=status(503)))
    assert fetch.body is None and fetch.status == 503
    assert fetch.error.startswith("HTTP 503") and "4 attempts" in fetch.error
    assert api.count("/s.json") == 4  # retries=3


def test_a_read_timeout_is_retried_then_reported(api, client):
    fetch = client.fetch(api.script("/s.json", slow(0.6), ok(BODY)))
    assert fetch.body == BODY and fetch.attempts == 2
    gap = client.fetch(api.script("/t.json", then=slow(0.6)))
    assert gap.body is None and gap.error.startswith("timeout:") and gap.attempts == 4


def test_a_connection_reset_is_retried_then_reported(api, client):
    assert client.fetch(api.script("/s.json", reset, ok(BODY))).body == BODY
    gap = client.fetch(api.script("/r.json", then=reset))
    assert gap.body is None and gap.status is None
    assert gap.error.startswith("connection:") and "4 attempts" in gap.error


def test_a_refused_connection_is_a_reason(client):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        fetch = client.fetch(f"http://127.0.0.1:{port}/station_status.json")
    assert fetch.body is None and fetch.error.startswith("connection:") and fetch.attempts == 4


def test_a_truncated_body_keeps_the_bytes_that_arrived(api, client):
    fetch = client.fetch(api.script("/s.json", truncated(BODY, 100)))
    assert fetch.body == BODY[:100]
    assert fetch.error.startswith("truncated: body cut after 100 bytes")


def test_a_gzip_encoded_answer_is_stored_decoded(api, client):
    assert client.fetch(api.script("/s.json", gzip_encoded(BODY))).body == BODY


def test_a_long_retry_after_returns_at_once_for_the_caller_to_honour(api, client):
    started = time.monotonic()
    fetch = client.fetch(api.script("/s.json", status(429, "120"), ok(BODY)))
    assert time.monotonic() - started < 1.0
    assert (fetch.status, fetch.retry_after, fetch.body, fetch.attempts) == (429, 120.0, None, 1)
    assert fetch.error.startswith("rate limited: HTTP 429") and "Retry-After 120 s" in fetch.error


def test_a_short_retry_after_is_waited_out_then_retried(api, client):
    fetch = client.fetch(api.script("/s.json", status(429, "1"), ok(BODY)))
    (first, _), (second, _) = api.requests["/s.json"]
    assert fetch.body == BODY and fetch.attempts == 2
    assert second - first >= 0.95


def test_a_404_is_not_retried(api, client):
    fetch = client.fetch(api.script("/s.json", then=status(404)))
    assert fetch.error.startswith("HTTP 404") and fetch.attempts == 1 and api.count("/s.json") == 1


# ------------------------------------------------------------------ credentials
def test_credentials_are_sent_but_never_returned(api):
    settings = ClientSettings(retries=0, headers={"X-Api-Key": "hdr-secret-1", "Accept-Language": "fr"})
    url = api.script("/s.json", then=status(503)).replace("http://", "http://user:pw-secret-2@")
    with ApiClient(settings) as client:
        fetch = client.fetch(url + "?apikey=qs-secret-3&lang=fr")
    request = api.requests["/s.json"][0][1]
    assert request.headers["X-Api-Key"] == "hdr-secret-1" and request.args["apikey"] == "qs-secret-3"
    assert fetch.url == api.url("/s.json") + "?lang=fr"
    assert not any(secret in repr(fetch) for secret in ("hdr-secret-1", "pw-secret-2", "qs-secret-3"))


def test_secrets_in_error_messages_are_scrubbed():
    url = "http://127.0.0.1:9/x?token=abc%2Fdef&page=2"
    with ApiClient(ClientSettings(retries=0, connect_timeout=0.5)) as client:
        fetch = client.fetch(url)
    assert "abc" not in fetch.error and "abc" not in fetch.url
    assert scrub("GET /x?token=abc%2Fdef failed", secrets_of(url, {})) == "GET /x?token=*** failed"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/p.json?key=1&lang=fr", "https://h/p.json?lang=fr"),
        ("https://u:p@h/p.json?access_token=x", "https://h/p.json"),
        ("https://h/p.json?apiKey=1&client_secret=2&sig=3&page=4", "https://h/p.json?page=4"),
        ("https://h/p.json", "https://h/p.json"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_headers_carrying_keys_tokens_and_cookies_are_sensitive():
    headers = {"Authorization": "Bearer x", "X-API-Key": "k", "Cookie": "c", "Accept": "application/json"}
    assert [name for name in headers if not is_sensitive(name)] == ["Accept"]


def test_parse_header():
    assert parse_header("X-Api-Key:  abc ") == ("X-Api-Key", "abc")
    with pytest.raises(UserError, match="Name: value"):
        parse_header("no-colon-here")


# ------------------------------------------------------------------ GBFS discovery
def test_feeds_from_gbfs_versions_2_and_3():
    v2 = {"data": {"fr": {"feeds": [{"name": "station_status", "url": "https://h/s.json"}]}}}
    v3 = {"data": {"feeds": [{"name": "station_status", "url": "s.json"}, {"name": "x"}]}}
    assert feeds_from_gbfs(v2, "https://h/gbfs.json") == {"station_status": "https://h/s.json"}
    assert feeds_from_gbfs(v3, "https://h/v3/gbfs.json") == {"station_status": "https://h/v3/s.json"}
    with pytest.raises(UserError, match="no feeds"):
        feeds_from_gbfs({"data": {}}, "https://h/")


def test_discover_feeds_over_http(api, client):
    listed = {"data": {"en": {"feeds": [{"name": "station_information", "url": "/i.json"}]}}}
    url = api.script("/gbfs.json", then=ok(minified(listed)))
    with pytest.raises(UserError, match="no station_status"):
        discover_feeds(client, url)
    listed["data"]["en"]["feeds"].append({"name": "station_status", "url": "/s.json"})
    api.script("/gbfs.json", then=ok(minified(listed)))
    assert discover_feeds(client, url) == {
        "station_information": api.url("/i.json"),
        "station_status": api.url("/s.json"),
    }
    api.script("/gbfs.json", then=ok(b"<html>"))
    with pytest.raises(UserError, match="not JSON"):
        discover_feeds(client, url)


# ------------------------------------------------------------------ bounded in time and memory
def test_a_body_dripped_forever_ends_at_the_whole_fetch_deadline():
    """The issue's hang: 1,000 bytes every half second never trip a per-read timeout."""
    settings = ClientSettings(timeout=1.0, retries=1, backoff_factor=0.01)
    with RawServer(dripping(DRIP_HEAD, b"x" * 1000, every=0.5)) as server, ApiClient(settings) as client:
        fetch = client.fetch(server.url)
    assert fetch.body is None and fetch.status == 200
    assert fetch.error.startswith("timeout: whole response not received within 1 s (")
    assert fetch.attempts == 1  # a body that started is not fetched again (as for a truncated one)


def test_headers_dripped_forever_time_out_per_attempt_and_are_retried():
    settings = ClientSettings(timeout=0.5, retries=1, backoff_factor=0.01)
    with RawServer(dripping(b"HTTP/1.1 200 OK\r\n", b"X: y\r\n", every=0.05)) as server, ApiClient(settings) as client:
        fetch = client.fetch(server.url)
    assert fetch.body is None and fetch.status is None
    assert fetch.error == "timeout: whole response not received within 0.5 s (2 attempts)"
    assert server.connections == 2


def test_an_endless_chunked_body_stops_at_max_body():
    settings = ClientSettings(timeout=15.0, retries=0, max_body=1_000_000)
    with RawServer(dripping(CHUNKED_HEAD, CHUNK)) as server, ApiClient(settings) as client:
        fetch = client.fetch(server.url)
    assert fetch.body is None and fetch.status == 200
    assert fetch.error.startswith("body over --max-body (1.0 MB): abandoned after 1.0 MB")


def test_a_body_announced_over_max_body_is_refused_before_it_is_read():
    settings = ClientSettings(timeout=15.0, retries=0, max_body=100_000)
    with RawServer(dripping(DRIP_HEAD, b"x" * 1000, every=0.5)) as server, ApiClient(settings) as client:
        fetch = client.fetch(server.url)
    assert fetch.body is None and fetch.error == "body over --max-body (100.0 KB): 1.0 MB announced"


def test_max_body_counts_the_decoded_size_of_a_compressed_answer(api):
    with ApiClient(ClientSettings(retries=0, max_body=100_000)) as client:
        bomb = client.fetch(api.script("/s.json", gzip_encoded(b"0" * 1_000_000)))
        fine = client.fetch(api.script("/t.json", gzip_encoded(BODY)))
    assert bomb.body is None and bomb.error.startswith("body over --max-body (100.0 KB)")
    assert fine.body == BODY and fine.error is None


def test_a_retried_5xx_whose_body_drips_is_drained_within_the_deadline_too():
    """urllib3 reads a retried 5xx's body before retrying: a dripping one must not hold the fetch either."""
    head = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: 1000000\r\n\r\n"
    settings = ClientSettings(timeout=0.5, retries=1, backoff_factor=0.01)
    with RawServer(dripping(head, b"x" * 100, every=0.05)) as server, ApiClient(settings) as client:
        fetch = client.fetch(server.url)
    assert fetch.body is None and fetch.status == 503
    assert fetch.error.startswith("HTTP 503") and fetch.attempts == 2 and server.connections == 2


@pytest.mark.parametrize(
    ("text", "size"), [("16MB", 16_000_000), ("500KB", 500_000), ("123", 123), ("2MiB", 2**21), (" 1.5 mb ", 1_500_000)]
)
def test_max_body_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "-1", "lots", "inf", "nan", "1e9", "0.5", "MB", ""])
def test_max_body_refuses_what_is_not_a_size(text):
    with pytest.raises(ValueError, match="16MB, 500KB"):
        parse_size(text)


def test_a_timeout_beyond_the_clock_arms_a_watchdog_that_just_never_fires(monkeypatch):
    failures = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    deadline = Deadline(1e300)  # --timeout accepts any duration; the timer thread's clock does not
    deadline.arm(http.client.HTTPConnection("127.0.0.1"))
    time.sleep(0.2)
    deadline.disarm()
    assert failures == [] and not deadline.expired
