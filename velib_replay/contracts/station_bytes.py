"""Each station's own text in a station_status body, so a message is the feed's bytes, not a re-encoding.

A body is walked as JSON down to ``data.stations`` (members, as ``json.loads`` would, the last
of a repeated key winning); each station is decoded once, for its code, and kept with the exact
text it had in the body. Any other shape returns None, and the caller takes the plain parse,
which says what is wrong with the body.
"""

from __future__ import annotations

import json
import re

from velib_replay.contracts.feed import Station

_DECODER = json.JSONDecoder()
_scan = _DECODER.scan_once  # the C scanner: (value, end) at an index, StopIteration where no value starts
_SPACE = re.compile(r"[ \t\n\r]*")
_PATH = ("data", "stations")


def station_texts(body: bytes) -> tuple[list[Station], list[str]] | None:
    """(stations, the text of each in the body), or None when the body is not a plain UTF-8 JSON document."""
    try:
        text = body.decode()
        found, end = _member(text, _skip(text, 0), _PATH)
    except (UnicodeDecodeError, ValueError, IndexError, StopIteration):
        return None
    return found if found is not None and _skip(text, end) == len(text) else None


def _skip(text: str, index: int) -> int:
    return _SPACE.match(text, index).end()


def _member(text: str, index: int, path: tuple[str, ...]) -> tuple[tuple[list, list] | None, int]:
    """Follow ``path`` from the value at ``index``; returns what the stations array holds, and where the value ends."""
    if not path:
        return _array(text, index)
    if text[index] != "{":
        _, end = _scan(text, index)
        return None, end
    found, index = None, _skip(text, index + 1)
    if text[index] == "}":
        return None, index + 1
    while True:
        key, index = _scan(text, index)
        index = _skip(text, index)
        if not isinstance(key, str) or text[index] != ":":
            raise ValueError("not an object member")
        start = _skip(text, index + 1)
        if key == path[0]:
            found, index = _member(text, start, path[1:])
        else:
            _, index = _scan(text, start)
        index = _skip(text, index)
        if text[index] == "}":
            return found, index + 1
        if text[index] != ",":
            raise ValueError("expected , or }")
        index = _skip(text, index + 1)


def _array(text: str, index: int) -> tuple[tuple[list, list] | None, int]:
    if text[index] != "[":
        _, end = _scan(text, index)
        return None, end
    stations: list[Station] = []
    texts: list[str] = []
    index = _skip(text, index + 1)
    if text[index] == "]":
        return (stations, texts), index + 1
    while True:  # the hot loop: one C scan a station, the regex only where the feed has whitespace
        station, end = _scan(text, index)
        stations.append(station)
        texts.append(text[index:end])
        if text[end] != ",":
            end = _skip(text, end)
            if text[end] == "]":
                return (stations, texts), end + 1
            if text[end] != ",":
                raise ValueError("expected , or ]")
        index = end + 1
        if text[index] in " \t\n\r":
            index = _skip(text, index)
