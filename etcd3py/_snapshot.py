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

import hashlib
import os
import tempfile
from collections.abc import Iterable
from typing import BinaryIO

from etcd3py.errors import ArgumentTypeError, SnapshotChecksumError

__all__ = [
    "CHECKSUM_SIZE",
    "TrailerCheck",
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


def save_to_file(chunks: Iterable[bytes], file_obj: BinaryIO) -> int:
    """Write the stream to an open binary file, then check its trailer.

    The bytes are written as they arrive, so on an error the file holds what came before
    it: the caller owns the file and decides what to do with it.

    Args:
        chunks: the stream's blobs, in order.
        file_obj: a binary file object open for writing.

    Returns:
        The bytes written.

    Raises:
        SnapshotChecksumError: the stream's trailer is missing or wrong.
    """
    check = TrailerCheck()
    for chunk in chunks:
        file_obj.write(chunk)
        check.update(chunk)
    check.verify()
    return check.size


def save_to_path(chunks: Iterable[bytes], path: str | os.PathLike[str]) -> int:
    """Write the stream to ``path`` through a temporary file, renamed once it is checked.

    The temporary file is created beside ``path`` (so the rename is atomic), readable by
    its owner only (as clientv3's), flushed to disk before the rename, and removed on any
    error: ``path`` is either untouched or the whole checked snapshot.

    Args:
        chunks: the stream's blobs, in order.
        path: the file to create or replace.

    Returns:
        The bytes written.

    Raises:
        SnapshotChecksumError: the stream's trailer is missing or wrong.
        OSError: the file cannot be written.
    """
    target = os.fspath(path)
    if not isinstance(target, str):
        raise ArgumentTypeError("the snapshot path must be a str or an os.PathLike of str")
    directory, name = os.path.split(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            size = save_to_file(chunks, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return size
