"""The snapshot SHA-256 trailer check and the save-through-a-temp-file rule, on bytes.

No server: chunks are handed in as a stream would deliver them. Also the argument checks of
the Cluster and Maintenance calls, which refuse bad values before anything is sent.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcd3py import Client
from etcd3py._snapshot import TrailerCheck, save_to_file, save_to_path
from etcd3py.errors import ArgumentTypeError, InvalidArgumentError, SnapshotChecksumError
from etcd3py.maintenance import AlarmType, DowngradeAction, verify_snapshot

NOWHERE = "127.0.0.1:1"  # nothing listens on port 1; dial_timeout=None does not wait


def snapshot_bytes(pages: int = 3) -> bytes:
    """A well-formed snapshot: whole 4 KiB pages of data, then their SHA-256."""
    body = bytes(range(256)) * (16 * pages)
    return body + hashlib.sha256(body).digest()


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    """Split ``data`` as a stream would, in ``size``-byte blobs."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [1, 7, 31, 32, 33, 4096, 10**6])
def test_trailer_checked_whatever_the_chunking(size: int) -> None:
    data = snapshot_bytes()
    check = TrailerCheck()
    for piece in pieces(data, size):
        check.update(piece)
    check.verify()
    assert check.size == len(data)


def test_verify_snapshot_accepts_a_good_one(tmp_path: Path) -> None:
    data = snapshot_bytes()
    assert verify_snapshot(data) == len(data)
    path = tmp_path / "snap.db"
    path.write_bytes(data)
    assert verify_snapshot(path) == len(data)
    assert verify_snapshot(str(path)) == len(data)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:100] + bytes([d[100] ^ 1]) + d[101:],  # a flipped bit in the data
        lambda d: d[:-1] + bytes([d[-1] ^ 0x80]),  # a flipped bit in the trailer
        lambda d: d[:-32] + bytes(32),  # a zeroed trailer
    ],
    ids=["data", "trailer", "zeroed-trailer"],
)
def test_corrupted_snapshot_is_refused(damage: object) -> None:
    data = damage(snapshot_bytes())  # type: ignore[operator]
    with pytest.raises(SnapshotChecksumError, match="sha256 trailer does not match"):
        verify_snapshot(data)


@pytest.mark.parametrize(
    "data",
    [b"", b"x" * 31, snapshot_bytes()[:-1], snapshot_bytes()[:-32], snapshot_bytes() + b"x"],
    ids=["empty", "short", "cut-trailer", "no-trailer", "extra-byte"],
)
def test_snapshot_without_a_trailer_is_refused(data: bytes) -> None:
    with pytest.raises(SnapshotChecksumError, match="no sha256 checksum trailer"):
        verify_snapshot(data)


def test_verify_snapshot_refuses_other_types() -> None:
    with pytest.raises(ArgumentTypeError):
        verify_snapshot(12)  # type: ignore[arg-type]


def test_save_to_file_writes_everything_then_checks() -> None:
    data = snapshot_bytes()
    out = io.BytesIO()
    assert save_to_file(pieces(data, 1000), out) == len(data)
    assert out.getvalue() == data
    bad = data[:-1] + bytes([data[-1] ^ 1])
    out = io.BytesIO()
    with pytest.raises(SnapshotChecksumError):
        save_to_file(pieces(bad, 1000), out)
    assert out.getvalue() == bad  # the caller's file holds what came


def test_save_to_path_replaces_only_a_checked_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "snap.db"
    path.write_bytes(b"the previous backup")
    data = snapshot_bytes()
    bad = data[:10] + bytes([data[10] ^ 1]) + data[11:]
    with pytest.raises(SnapshotChecksumError):
        save_to_path(pieces(bad, 1000), path)
    assert path.read_bytes() == b"the previous backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.db"]  # no temp file left
    assert save_to_path(pieces(data, 1000), path) == len(data)
    assert path.read_bytes() == data
    assert (path.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.db"]


def test_save_to_path_leaves_nothing_when_the_stream_breaks(tmp_path: Path) -> None:
    class Broken(Exception):
        pass

    def stream() -> Iterator[bytes]:
        yield b"x" * 4096
        raise Broken

    path = tmp_path / "snap.db"
    with pytest.raises(Broken):
        save_to_path(stream(), path)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def offline() -> Iterator[Client]:
    client = Client(NOWHERE, dial_timeout=None)
    try:
        yield client
    finally:
        client.close()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.member_remove(-1), InvalidArgumentError),
        (lambda c: c.member_remove(2**64), InvalidArgumentError),
        (lambda c: c.member_remove("1"), ArgumentTypeError),
        (lambda c: c.member_promote(True), ArgumentTypeError),
        (lambda c: c.member_update(1, "http://h:2380"), ArgumentTypeError),
        (lambda c: c.member_add([b"http://h:2380"]), ArgumentTypeError),
        (lambda c: c.member_list(linearizable=1), ArgumentTypeError),
        (lambda c: c.alarm_disarm(-1, AlarmType.NOSPACE), InvalidArgumentError),
        (lambda c: c.alarm_disarm(1, 7), InvalidArgumentError),
        (lambda c: c.alarm_disarm(1, "NOSPACE"), ArgumentTypeError),
        (lambda c: c.hash_kv(NOWHERE, -1), InvalidArgumentError),
        (lambda c: c.move_leader(-5), InvalidArgumentError),
        (lambda c: c.downgrade(5, "3.4"), InvalidArgumentError),
        (lambda c: c.downgrade("enable", "3.4"), ArgumentTypeError),
        (lambda c: c.downgrade(DowngradeAction.VALIDATE, 3.4), ArgumentTypeError),
        (lambda c: c.snapshot(42), ArgumentTypeError),
    ],
)
def test_bad_arguments_refused_before_sending(offline: Client, call: object, error: type) -> None:
    with pytest.raises(error):
        call(offline)  # type: ignore[operator]


def test_snapshot_needs_one_member(tmp_path: Path) -> None:
    with (
        Client(["127.0.0.1:1", "127.0.0.1:2"], dial_timeout=None) as client,
        pytest.raises(InvalidArgumentError, match="endpoint="),
    ):
        client.snapshot(tmp_path / "snap.db")
    assert list(tmp_path.iterdir()) == []
