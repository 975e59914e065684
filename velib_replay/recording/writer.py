"""Appending polls to a recording folder, crash-safe at every step."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import zstandard

from velib_replay.recording.format import (
    COMPRESSIONS,
    FORMAT,
    INDEX,
    MANIFEST,
    VERSION,
    Poll,
    RecordingError,
    checked,
    format_time,
)

ZSTD_LEVEL = 15  # on the real 457 KB body: 25.5 KB in ~18 ms (level 9: 30.1 KB; 19: 23.9 KB but ~280 ms)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide recordings from other users
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    return data


def index_line(poll: Poll) -> str:
    return json.dumps(poll.to_record(), ensure_ascii=False) + "\n"


class RecordingWriter:
    """Appends polls to a recording folder, crash-safe at every step."""

    def __init__(self, path: Path, *, compression: str = "gzip", source: dict[str, Any] | None = None):
        if compression not in COMPRESSIONS:
            raise RecordingError(f"unknown compression {compression!r} (choose {', '.join(COMPRESSIONS)})")
        self.path = Path(path)
        self.compression = compression
        manifest = self.path / MANIFEST
        if not manifest.exists():
            created = format_time(datetime.now(timezone.utc))
            header = {"format": FORMAT, "version": VERSION, "created": created, **(source or {})}
            atomic_write(manifest, (json.dumps(header, indent=2, ensure_ascii=False) + "\n").encode())

    def write(self, poll: Poll, body: bytes | None) -> Poll:
        """Store one poll; the body (if any) first, then its meta file, then the index line."""
        stem = self._free_stem(poll.fetched_at, poll.feed)
        if body is not None:
            stored = compress(body, self.compression)
            body_file = f"{stem}.json{COMPRESSIONS[self.compression]}"
            atomic_write(self.path / body_file, stored)
            poll = replace(checked(poll, body), body_file=body_file, stored_size=len(stored))
        poll = replace(poll, meta_file=f"{stem}.meta.json")
        line = index_line(poll)
        atomic_write(self.path / poll.meta_file, line.encode())
        with open(self.path / INDEX, "a", encoding="utf-8") as index:
            index.write(line)
        return poll

    def _free_stem(self, moment: datetime, feed: str) -> str:
        moment = moment.astimezone(timezone.utc)
        while True:
            stamp = moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z"
            stem = f"{moment:%Y-%m-%d}/{stamp}.{feed}"
            if not (self.path / f"{stem}.meta.json").exists():
                return stem
            moment += timedelta(milliseconds=1)
