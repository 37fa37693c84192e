"""End-to-end tests of the Maintenance API: alarms, defragment, hash, snapshot, leader moves.

Real etcd's snapshot is checked with ``etcdutl snapshot status``; the reference server does
not serve snapshots or leader moves and answers ``UNIMPLEMENTED``. Moving the leadership to
another member runs on the 3-member ``etcd_cluster`` fixture.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from pathlib import Path

import pytest

from etcd3py import Client
from etcd3py.errors import BadLeaderTransfereeError, UnimplementedError
from etcd3py.maintenance import AlarmType, HashKVResponse
from tests.backends import Backend, EtcdProcess, EtcdTools

TIMEOUT = 10.0
#: bbolt's magic number, little-endian, at offset 16 of the first page (its meta page).
BOLT_MAGIC = (0xED0CDAED).to_bytes(4, "little")
SHA256_SIZE = 32


def test_alarm_list_empty(client: Client) -> None:
    assert client.alarm_list(timeout=TIMEOUT).alarms == []


def test_alarm_disarm_none_raised(client: Client) -> None:
    member_id = client.member_list(timeout=TIMEOUT).header.member_id
    assert client.alarm_disarm(member_id, AlarmType.NOSPACE, timeout=TIMEOUT).alarms == []
    assert client.alarm_list(timeout=TIMEOUT).alarms == []


def test_defragment(client: Client, backend: Backend, prefix: str) -> None:
    client.put(prefix + "k", "v")
    client.defragment(backend.endpoints[0], timeout=TIMEOUT)
    assert client.get(prefix + "k").kvs[0].value == b"v"


def test_hash_kv_stable_without_writes(client: Client, backend: Backend, prefix: str) -> None:
    rev = client.put(prefix + "k", "v").header.revision
    first = client.hash_kv(backend.endpoints[0], rev, timeout=TIMEOUT)
    second = client.hash_kv(backend.endpoints[0], rev, timeout=TIMEOUT)
    assert isinstance(first, HashKVResponse)
    assert first.hash == second.hash != 0
    assert first.compact_revision == second.compact_revision
    assert first.header.revision >= rev


def test_hash_kv_changes_with_a_write(client: Client, backend: Backend, prefix: str) -> None:
    rev = client.put(prefix + "k", "v1").header.revision
    before = client.hash_kv(backend.endpoints[0], rev, timeout=TIMEOUT).hash
    rev2 = client.put(prefix + "k", "v2").header.revision
    after = client.hash_kv(backend.endpoints[0], rev2, timeout=TIMEOUT).hash
    assert before != after


@pytest.mark.real_etcd_only
def test_snapshot_is_a_bolt_file(
    client: Client, prefix: str, etcd_tools: EtcdTools, tmp_path: Path
) -> None:
    client.put(prefix + "k", "v")
    buf = io.BytesIO()
    size = client.snapshot(buf, timeout=30.0)
    data = buf.getvalue()
    assert size == len(data) > SHA256_SIZE
    assert data[16:20] == BOLT_MAGIC
    # etcd ends the stream with the SHA-256 of the database bytes before it
    db, checksum = data[:-SHA256_SIZE], data[-SHA256_SIZE:]
    assert hashlib.sha256(db).digest() == checksum
    path = tmp_path / "snap.db"
    path.write_bytes(data)
    out = subprocess.run(
        [str(etcd_tools.etcdutl), "snapshot", "status", str(path), "-w", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    status = json.loads(out.stdout)
    assert status["totalSize"] == len(db)
    assert status["totalKey"] > 0


@pytest.mark.testserver_only
def test_reference_server_snapshot_unimplemented(client: Client) -> None:
    buf = io.BytesIO()
    with pytest.raises(UnimplementedError, match=r"testserver: Maintenance\.Snapshot"):
        client.snapshot(buf, timeout=TIMEOUT)
    assert buf.getvalue() == b""


@pytest.mark.real_etcd_only
def test_move_leader_to_itself(client: Client) -> None:
    member_id = client.member_list(timeout=TIMEOUT).header.member_id
    resp = client.move_leader(member_id, timeout=TIMEOUT)
    assert resp.header.member_id == 0  # etcd answers a leader move without a header
    status = client.status(client.member_list(timeout=TIMEOUT).members[0].client_urls[0])
    assert status.leader == member_id


@pytest.mark.real_etcd_only
def test_move_leader_to_unknown_member(client: Client) -> None:
    member_id = client.member_list(timeout=TIMEOUT).header.member_id
    with pytest.raises(BadLeaderTransfereeError):
        client.move_leader(member_id ^ 0xFFFF, timeout=TIMEOUT)


@pytest.mark.testserver_only
def test_reference_server_move_leader_unimplemented(client: Client) -> None:
    member_id = client.member_list(timeout=TIMEOUT).header.member_id
    with pytest.raises(UnimplementedError, match=r"testserver: Maintenance\.MoveLeader"):
        client.move_leader(member_id, timeout=TIMEOUT)


@pytest.mark.cluster
def test_move_leader_to_another_member(etcd_cluster: list[EtcdProcess]) -> None:
    with Client(endpoints=[m.endpoint for m in etcd_cluster]) as client:
        statuses = {m.endpoint: client.status(m.endpoint, timeout=TIMEOUT) for m in etcd_cluster}
        leader = next(s.leader for s in statuses.values())
        assert all(s.leader == leader for s in statuses.values())
        endpoint, target = next(
            (e, s.header.member_id) for e, s in statuses.items() if s.header.member_id != leader
        )
        client.move_leader(target, timeout=TIMEOUT)
        assert client.status(endpoint, timeout=TIMEOUT).leader == target
        with pytest.raises(BadLeaderTransfereeError):
            client.move_leader(target ^ 0xFFFF, timeout=TIMEOUT)
