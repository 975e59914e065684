"""Storage of polls: the recording format, its writer, its reader, and ``info``.

Kept apart from how polls are fetched (``capture``) and how they are sent (``replay``),
as rosbag2 keeps storage apart from transport.
"""

from velib_replay.recording.format import (
    COMPRESSIONS,
    INDEX,
    INFO_FEED,
    MANIFEST,
    STATUS_FEED,
    Poll,
    RecordingError,
    checked,
    format_time,
    parse_time,
)
from velib_replay.recording.reader import Recording, Snapshot
from velib_replay.recording.writer import RecordingWriter

__all__ = [
    "COMPRESSIONS",
    "INDEX",
    "INFO_FEED",
    "MANIFEST",
    "STATUS_FEED",
    "Poll",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "Snapshot",
    "checked",
    "format_time",
    "parse_time",
]
