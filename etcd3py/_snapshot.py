"""Saving a snapshot stream and checking its SHA-256 trailer, as ``etcdutl`` checks it.

etcd streams its backend database followed by 32 bytes: the SHA-256 of everything before
them. The database is whole 4 KiB pages, so a complete snapshot is ``512 * n + 32`` bytes
(clientv3's ``hasChecksum``). :class:`TrailerCheck` verifies that on the fly, keeping only
the last 32 bytes seen, so a snapshot of any size is checked without holding it in memory.

:func:`save_to_path` writes to a private temporary file beside the target and renames it
over the target only once the whole stream arrived and its trailer matched, so a broken or
corrupted transfer never leaves a partial file at the path (clientv3 writes ``<path>.part``
and renames it the same way). No gRPC here: the caller hands in the chunks.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable
from typing import BinaryIO

from etcd3py.errors import ArgumentTypeError, SnapshotChecksumError

__all__ = [
    "CHECKSUM_SIZE",
    "FileSink",
    "PathSink",
    "TrailerCheck",
    "check_dest",
    "open_sink",
    "save",
    "save_to_file",
    "save_to_path",
    "verify_bytes",
    "verify_file",
]

#: The size of the SHA-256 trailer etcd appends to a snapshot.
CHECKSUM_SIZE = 32
#: A snapshot's database is whole pages: its size is a multiple of this (clientv3's rule).
_ALIGN = 512
#: How much of a file :func:`verify_file` reads at a time.
_READ_SIZE = 1 << 20


class TrailerCheck:
    """The running SHA-256 of a snapshot stream, minus its last 32 bytes."""

    __slots__ = ("_sha", "_tail", "size")

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._tail = b""
        self.size = 0

    def update(self, chunk: bytes) -> None:
        """Take the next bytes of the stream.

        Args:
            chunk: the bytes, in stream order.
        """
        self.size += len(chunk)
        buf = self._tail + chunk if self._tail else chunk
        if len(buf) > CHECKSUM_SIZE:
            self._sha.update(memoryview(buf)[:-CHECKSUM_SIZE])
            self._tail = bytes(buf[-CHECKSUM_SIZE:])
        else:
            self._tail = bytes(buf)

    def verify(self) -> None:
        """Check the trailer of the whole stream taken so far.

        Raises:
            SnapshotChecksumError: the stream has no trailer (a size no snapshot has) or the
                trailer is not the SHA-256 of the bytes before it.
        """
        if self.size < CHECKSUM_SIZE or (self.size - CHECKSUM_SIZE) % _ALIGN != 0:
            raise SnapshotChecksumError(
                f"etcd3py: snapshot has no sha256 checksum trailer [bytes: {self.size}]"
            )
        if self._sha.digest() != self._tail:
            raise SnapshotChecksumError(
                "etcd3py: snapshot is corrupted: its sha256 trailer does not match its data"
            )


def verify_bytes(data: bytes) -> None:
    """Check the SHA-256 trailer of a whole snapshot held in memory.

    Args:
        data: the snapshot, trailer included.

    Raises:
        SnapshotChecksumError: no trailer, or a trailer that does not match.
    """
    check = TrailerCheck()
    check.update(bytes(data))
    check.verify()


def verify_file(path: str | os.PathLike[str]) -> int:
    """Check the SHA-256 trailer of a snapshot file, reading it in 1 MiB pieces.

    Args:
        path: the file.

    Returns:
        Its size in bytes.

    Raises:
        SnapshotChecksumError: no trailer, or a trailer that does not match.
        OSError: the file cannot be read.
    """
    check = TrailerCheck()
    with open(path, "rb") as f:
        while chunk := f.read(_READ_SIZE):
            check.update(chunk)
    check.verify()
    return check.size


class FileSink:
    """Where a snapshot's chunks go as they arrive: a binary file object, trailer checked.

    Push-style, so a blocking loop and an awaited stream feed it alike: :meth:`write` each
    chunk, then :meth:`finish`; on an error :meth:`abort`.
    """

    def __init__(self, file_obj: BinaryIO) -> None:
        """Write to ``file_obj`` (owned by the caller: on an error it keeps what came).

        Args:
            file_obj: a binary file object open for writing.
        """
        self._file = file_obj
        self._check = TrailerCheck()

    def write(self, chunk: bytes) -> None:
        """Write the next chunk.

        Args:
            chunk: the bytes, in stream order.
        """
        self._file.write(chunk)
        self._check.update(chunk)

    def finish(self) -> int:
        """Check the trailer of everything written.

        Returns:
            The bytes written.

        Raises:
            SnapshotChecksumError: the trailer is missing or wrong.
        """
        self._check.verify()
        return self._check.size

    def abort(self) -> None:
        """Give up (nothing to undo: the file is the caller's)."""


class PathSink(FileSink):
    """A snapshot saved to a path through a private temporary file beside it.

    The temporary file is readable by its owner only (as clientv3's), flushed to disk and
    renamed over the path only by :meth:`finish` once the trailer matched; :meth:`abort`
    removes it: the path is either untouched or the whole checked snapshot.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Create the temporary file beside ``path``.

        Args:
            path: the file to create or replace.

        Raises:
            ArgumentTypeError: ``path`` is not a str path.
            OSError: the file cannot be created.
        """
        target = os.fspath(path)
        if not isinstance(target, str):
            raise ArgumentTypeError("the snapshot path must be a str or an os.PathLike of str")
        directory, name = os.path.split(os.path.abspath(target))
        fd, self._tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
        self._target = target
        super().__init__(os.fdopen(fd, "wb"))

    def finish(self) -> int:
        """Check the trailer, then flush, sync and rename the file over the path.

        Returns:
            The bytes written.

        Raises:
            SnapshotChecksumError: the trailer is missing or wrong (call :meth:`abort`).
            OSError: the file cannot be written.
        """
        size = super().finish()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self._target)
        return size

    def abort(self) -> None:
        """Remove the temporary file; the path stays as it was."""
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


def open_sink(dest: str | os.PathLike[str] | BinaryIO) -> FileSink:
    """Return the sink for a snapshot's destination: a path or a binary file object.

    Args:
        dest: a path (``str`` or ``os.PathLike``) or a binary file object.

    Returns:
        A :class:`PathSink` or a :class:`FileSink`.

    Raises:
        ArgumentTypeError: ``dest`` is neither.
        OSError: the temporary file cannot be created.
    """
    check_dest(dest)
    if isinstance(dest, (str, os.PathLike)):
        return PathSink(dest)
    return FileSink(dest)


def check_dest(dest: object) -> None:
    """Refuse a snapshot destination that is neither a path nor a writable object.

    Args:
        dest: the argument.

    Raises:
        ArgumentTypeError: neither.
    """
    if not isinstance(dest, (str, os.PathLike)) and not callable(getattr(dest, "write", None)):
        raise ArgumentTypeError(
            f"dest must be a path or a binary file object, not {type(dest).__name__}"
        )


def save(chunks: Iterable[bytes], sink: FileSink) -> int:
    """Feed every chunk to ``sink`` and finish it; abort it on any error.

    Args:
        chunks: the stream's blobs, in order.
        sink: where they go.

    Returns:
        The bytes written.

    Raises:
        SnapshotChecksumError: the stream's trailer is missing or wrong.
    """
    try:
        for chunk in chunks:
            sink.write(chunk)
        return sink.finish()
    except BaseException:
        sink.abort()
        raise


def save_to_file(chunks: Iterable[bytes], file_obj: BinaryIO) -> int:
    """Write the stream to an open binary file, then check its trailer (see :class:`FileSink`).

    Args:
        chunks: the stream's blobs, in order.
        file_obj: a binary file object open for writing.

    Returns:
        The bytes written.
    """
    return save(chunks, FileSink(file_obj))


def save_to_path(chunks: Iterable[bytes], path: str | os.PathLike[str]) -> int:
    """Write the stream to ``path`` through a temporary file (see :class:`PathSink`).

    Args:
        chunks: the stream's blobs, in order.
        path: the file to create or replace.

    Returns:
        The bytes written.
    """
    return save(chunks, PathSink(path))
