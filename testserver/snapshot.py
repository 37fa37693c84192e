"""Snapshots of the reference server: its own format, with etcd's SHA-256 trailer.

etcd streams its bbolt database file; the reference server has none, so it streams its own
serialization of the key space instead, framed as etcd frames a snapshot, so that clients
check and save it the same way:

* ``MAGIC`` (16 bytes), then three big-endian 64-bit integers: the store's current
  revision, its compaction revision (-1 before any) and the number of records;
* each live key-value at the current revision as a 32-bit big-endian length and an
  ``mvccpb.KeyValue`` message, in key order (no history, no leases, no auth data);
* zero bytes up to a multiple of 4096 (bbolt's page size: a snapshot's database part is
  whole pages, which clients check);
* the 32-byte SHA-256 of everything before it.

``etcdutl`` cannot restore such a file: only the reference server's :func:`read_snapshot`
reads it back. Chunks are sent 32 KiB at a time, as etcd does, with ``remaining_bytes``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator

from google.protobuf.message import DecodeError

from etcd3py import _pb
from testserver.mvcc.store import Store

__all__ = ["CHUNK_SIZE", "MAGIC", "chunks", "read_snapshot", "serialize"]

#: the first bytes of a reference-server snapshot.
MAGIC = b"etcd3py-tsnap-1\n"
#: the blob size of each stream message (etcd's ``snapshotSendBufferSize``).
CHUNK_SIZE = 32 * 1024
_PAGE = 4096
_HEAD = struct.Struct(">QqQ")
_LEN = struct.Struct(">I")


def serialize(store: Store) -> bytes:
    """Serialize the store's live key-values, padded to whole pages, trailer included.

    Args:
        store: the MVCC store.

    Returns:
        The snapshot bytes.
    """
    result = store.read().range(b"\x00", b"")
    parts = [MAGIC, _HEAD.pack(result.rev, store.compact_revision, len(result.records))]
    for record in result.records:
        data = record.to_pb().SerializeToString()
        parts += [_LEN.pack(len(data)), data]
    body = b"".join(parts)
    body += bytes(-len(body) % _PAGE)
    return body + hashlib.sha256(body).digest()


def chunks(blob: bytes) -> Iterator[_pb.rpc.SnapshotResponse]:
    """Split a snapshot into stream messages as etcd does: the database, then the trailer.

    Args:
        blob: the whole snapshot (trailer included).

    Yields:
        The messages, ``remaining_bytes`` counting the database bytes still to come.
    """
    body, trailer = blob[:-32], blob[-32:]
    for start in range(0, len(body), CHUNK_SIZE):
        piece = body[start : start + CHUNK_SIZE]
        remaining = len(body) - start - len(piece)
        yield _pb.rpc.SnapshotResponse(remaining_bytes=remaining, blob=piece)
    yield _pb.rpc.SnapshotResponse(remaining_bytes=0, blob=trailer)


def read_snapshot(blob: bytes) -> tuple[int, int, list[_pb.kv.KeyValue]]:
    """Read back a reference-server snapshot, checking its trailer and framing.

    Args:
        blob: the snapshot bytes.

    Returns:
        (revision, compaction revision, the key-values in key order).

    Raises:
        ValueError: not a reference-server snapshot, or a damaged one.
    """
    body, trailer = blob[:-32], blob[-32:]
    if len(blob) < 32 or hashlib.sha256(body).digest() != trailer:
        raise ValueError("testserver: the snapshot's sha256 trailer does not match")
    if not body.startswith(MAGIC):
        raise ValueError("testserver: not a reference-server snapshot")
    try:
        pos = len(MAGIC)
        rev, compact_rev, count = _HEAD.unpack_from(body, pos)
        pos += _HEAD.size
        kvs = []
        for _ in range(count):
            (size,) = _LEN.unpack_from(body, pos)
            pos += _LEN.size
            kvs.append(_pb.kv.KeyValue.FromString(body[pos : pos + size]))
            pos += size
    except (struct.error, DecodeError) as exc:
        raise ValueError(f"testserver: damaged snapshot: {exc}") from exc
    return rev, compact_rev, kvs
