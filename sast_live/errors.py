"""The project's exception types.

Every reader raises :class:`EventFormatError` for truncated, corrupt or mislabelled input, naming the file
and the byte offset where decoding stopped making sense, so a user can look at the bytes themselves.
"""

from __future__ import annotations

import os


class SastLiveError(Exception):
    """Base class of every error SAST-Live raises on purpose (bad input, impossible options)."""


class EventFormatError(SastLiveError):
    """A file or byte stream that does not decode as the format it claims to be.

    Attributes:
        path: the file (or stream name) that was being read.
        offset: byte offset into the file where the problem was found (None when not meaningful).
        reason: what was wrong, in words.
    """

    def __init__(self, path: str | os.PathLike | None, offset: int | None, reason: str):
        self.path = None if path is None else os.fspath(path)
        self.offset = None if offset is None else int(offset)
        self.reason = reason
        where = self.path if self.path is not None else "<stream>"
        at = f" at byte {self.offset}" if self.offset is not None else ""
        super().__init__(f"{where}{at}: {reason}")
