"""How a body is stored: whole (gzip, zstd, none; format v1) or as a delta of the previous body (format v2).

A delta is the body compressed by zstd with the previous body of the same feed as a
raw-content dictionary: consecutive polls differ by a few hundred stations, so a delta
is about a fifth of a standalone zstd frame. Every ``keyframe_every`` bodies a keyframe
(a plain zstd frame, readable by any zstd tool) starts a new chain, so reading any one
body costs at most ``keyframe_every`` decompressions and a lost file spoils one chain
at most. Every frame carries a checksum, so a delta decoded against the wrong
reference is an error, not a silently different body.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

import zstandard

ZSTD_LEVEL = 15  # on the real 457 KB body: 25.5 KB in ~18 ms (level 9: 30.1 KB; 19: 23.9 KB but ~280 ms)
DELTA = "zstd-delta"
DELTA_SUFFIX = ".dzst"
# Measured by bench/storage.py on the realistic series (every last_reported advances, ~10 % of stations
# change counts): level 9 gives about 6 KB a poll in ~15 ms, level 3 ~7 KB in ~3 ms, level 19 ~4 KB but ~0.8 s.
DELTA_LEVEL = 9
# A keyframe an hour at one poll a minute: adds ~0.6 MB a day, and any body is at most 60 decompressions
# (~1 ms each) away; 1,440 would save that 0.6 MB but make a random read cost about a second.
KEYFRAME_EVERY = 60
COMPRESSIONS = {"gzip": ".gz", "zstd": ".zst", "none": "", DELTA: DELTA_SUFFIX}
NAMES = {".gz": "gzip", ".zst": "zstd", ".json": "none", DELTA_SUFFIX: DELTA}  # a body file's last suffix → codec

DECODE_ERRORS = (OSError, EOFError, zlib.error, zstandard.ZstdError)  # BadGzipFile is an OSError


def compress(data: bytes, compression: str) -> bytes:
    """A whole body (a v1 file, or a keyframe of a delta chain)."""
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression in ("zstd", DELTA):
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True).compress(data)
    return data


def decompress(data: bytes, name: str) -> bytes:
    """A whole body from its stored bytes, the codec told by the file name's suffix."""
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompress(data)
    return data


def _dictionary(reference: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(reference, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def compress_delta(data: bytes, reference: bytes, level: int = DELTA_LEVEL) -> bytes:
    compressor = zstandard.ZstdCompressor(level=level, dict_data=_dictionary(reference), write_checksum=True)
    return compressor.compress(data)


def decompress_delta(data: bytes, reference: bytes) -> bytes:
    return zstandard.ZstdDecompressor(dict_data=_dictionary(reference)).decompress(data)


@dataclass
class DeltaChain:
    """The writer's side of one feed's chain: the last committed body, and how far it is from its keyframe."""

    keyframe_every: int = KEYFRAME_EVERY
    level: int = DELTA_LEVEL
    reference_file: str | None = None
    reference: bytes = b""
    length: int = 0  # bodies in the chain so far, its keyframe included

    def encode(self, body: bytes) -> tuple[bytes, str, str | None]:
        """(stored bytes, file suffix, body file it is a delta of, None for a keyframe)."""
        if self.reference_file is None or self.length >= self.keyframe_every:
            return compress(body, DELTA), COMPRESSIONS["zstd"], None
        return compress_delta(body, self.reference, self.level), DELTA_SUFFIX, self.reference_file

    def committed(self, body_file: str, body: bytes, delta_of: str | None) -> None:
        """Called once the poll's meta file is written: only committed bodies may be referenced."""
        self.length = 1 if delta_of is None else self.length + 1
        self.reference_file, self.reference = body_file, body
