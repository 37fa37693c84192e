"""KV end to end: put, get, delete and compact with every option of API.md, on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from etcd3py import Client, Compare, Op, SortOrder, SortTarget, _pb, _stubs
from etcd3py.errors import CompactedError, FutureRevisionError, KeyNotFoundError
from etcd3py.kv import DeleteResponse, GetResponse, PutResponse

pytestmark = pytest.mark.both_faces


@pytest.fixture
def lease_id(raw_channel: grpc.Channel) -> Iterator[int]:
    """A 60 s lease granted with the raw stub (the Lease concern is a later issue)."""
    stub = _stubs.rpc_grpc.LeaseStub(raw_channel)
    try:
        lease = stub.LeaseGrant(_pb.rpc.LeaseGrantRequest(TTL=60), timeout=10).ID
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
            raise
        pytest.skip("this backend does not serve the Lease service yet")
    yield lease
    stub.LeaseRevoke(_pb.rpc.LeaseRevokeRequest(ID=lease), timeout=10)


def _fill(client: Client, prefix: str) -> list[int]:
    """Put a, b, c, d under the prefix (values 4, 3, 2, 1); return their revisions."""
    revs = []
    for key, value in zip("abcd", "4321", strict=True):
        revs.append(client.put(prefix + key, value).header.revision)
    return revs


def _keys(resp: GetResponse, prefix: str) -> list[str]:
    return [kv.key.decode()[len(prefix) :] for kv in resp.kvs]


# ---- put ----------------------------------------------------------------------------------


def test_put_then_get_round_trips_str_and_bytes(client: Client, prefix: str) -> None:
    first = client.put(prefix + "k", "välue")
    assert isinstance(first, PutResponse) and first.prev_kv is None
    second = client.put((prefix + "k").encode(), b"\x00\xff")
    assert second.header.revision > first.header.revision
    kv = client.get(prefix + "k").kvs[0]
    assert (kv.key, kv.value) == ((prefix + "k").encode(), b"\x00\xff")
    assert (kv.create_revision, kv.mod_revision, kv.version, kv.lease) == (
        first.header.revision,
        second.header.revision,
        2,
        0,
    )


def test_put_prev_kv(client: Client, prefix: str) -> None:
    assert client.put(prefix + "k", "1", prev_kv=True).prev_kv is None
    prev = client.put(prefix + "k", "2", prev_kv=True).prev_kv
    assert prev is not None and prev.value == b"1" and prev.version == 1


def test_put_lease_and_ignore_lease(client: Client, prefix: str, lease_id: int) -> None:
    client.put(prefix + "k", "1", lease=lease_id)
    assert client.get(prefix + "k").kvs[0].lease == lease_id
    client.put(prefix + "k", "2", ignore_lease=True)
    kv = client.get(prefix + "k").kvs[0]
    assert (kv.value, kv.lease) == (b"2", lease_id)


def test_put_ignore_value(client: Client, prefix: str, lease_id: int) -> None:
    client.put(prefix + "k", "kept")
    client.put(prefix + "k", b"", ignore_value=True, lease=lease_id)
    kv = client.get(prefix + "k").kvs[0]
    assert (kv.value, kv.lease, kv.version) == (b"kept", lease_id, 2)


def test_put_ignore_value_on_a_missing_key_is_key_not_found(client: Client, prefix: str) -> None:
    with pytest.raises(KeyNotFoundError, match="etcdserver: key not found"):
        client.put(prefix + "missing", "", ignore_value=True)
    assert client.get(prefix + "missing").count == 0


# ---- get ----------------------------------------------------------------------------------


def test_get_single_and_missing(client: Client, prefix: str) -> None:
    _fill(client, prefix)
    assert _keys(client.get(prefix + "b"), prefix) == ["b"]
    missing = client.get(prefix + "zz")
    assert (missing.kvs, missing.count, missing.more) == ([], 0, False)


def test_get_prefix_range_end_from_key(client: Client, prefix: str) -> None:
    _fill(client, prefix)
    assert _keys(client.get(prefix, prefix=True), prefix) == ["a", "b", "c", "d"]
    assert _keys(client.get(prefix + "b", range_end=prefix + "d"), prefix) == ["b", "c"]
    from_c = client.get(prefix + "c", from_key=True, limit=2)
    assert _keys(from_c, prefix) == ["c", "d"]


def test_get_rev_reads_history(client: Client, prefix: str) -> None:
    revs = _fill(client, prefix)
    client.put(prefix + "a", "new")
    assert client.get(prefix + "a", rev=revs[0]).kvs[0].value == b"4"
    assert _keys(client.get(prefix, prefix=True, rev=revs[1]), prefix) == ["a", "b"]


def test_get_limit_count_more(client: Client, prefix: str) -> None:
    _fill(client, prefix)
    resp = client.get(prefix, prefix=True, limit=2)
    assert (_keys(resp, prefix), resp.count, resp.more) == (["a", "b"], 4, True)
    resp = client.get(prefix, prefix=True, limit=4)
    assert resp.more is False


@pytest.mark.parametrize(
    ("target", "order", "expected"),
    [
        (SortTarget.KEY, SortOrder.DESCEND, ["d", "c", "b", "a"]),
        (SortTarget.KEY, SortOrder.ASCEND, ["a", "b", "c", "d"]),
        (SortTarget.VALUE, SortOrder.ASCEND, ["d", "c", "b", "a"]),
        (SortTarget.VALUE, SortOrder.DESCEND, ["a", "b", "c", "d"]),
        (SortTarget.CREATE, SortOrder.DESCEND, ["d", "c", "b", "a"]),
        (SortTarget.MOD, SortOrder.ASCEND, ["b", "c", "d", "a"]),
        (SortTarget.VERSION, SortOrder.DESCEND, ["a", "b", "c", "d"]),
    ],
)
def test_get_sorted(
    client: Client, prefix: str, target: SortTarget, order: SortOrder, expected: list[str]
) -> None:
    _fill(client, prefix)
    client.put(prefix + "a", "4")  # a: version 2 and the newest mod revision
    assert _keys(client.get(prefix, prefix=True, sort_target=target, sort_order=order), prefix) == (
        expected
    )


def test_get_sorted_with_limit_takes_the_top(client: Client, prefix: str) -> None:
    _fill(client, prefix)
    resp = client.get(
        prefix, prefix=True, sort_target=SortTarget.VALUE, sort_order=SortOrder.ASCEND, limit=1
    )
    assert _keys(resp, prefix) == ["d"]


def test_get_keys_only_and_count_only(client: Client, prefix: str) -> None:
    _fill(client, prefix)
    keys_only = client.get(prefix, prefix=True, keys_only=True)
    assert _keys(keys_only, prefix) == ["a", "b", "c", "d"]
    assert all(kv.value == b"" for kv in keys_only.kvs)
    count_only = client.get(prefix, prefix=True, count_only=True)
    assert (count_only.kvs, count_only.count) == ([], 4)


def test_get_serializable(client: Client, prefix: str) -> None:
    _fill(client, prefix)
    assert _keys(client.get(prefix + "a", serializable=True), prefix) == ["a"]


def test_get_revision_filters(client: Client, prefix: str) -> None:
    revs = _fill(client, prefix)
    client.put(prefix + "a", "again")  # a: created at revs[0], modified last
    p = prefix
    assert _keys(client.get(p, prefix=True, min_mod_revision=revs[2]), p) == ["a", "c", "d"]
    assert _keys(client.get(p, prefix=True, max_mod_revision=revs[1]), p) == ["b"]
    assert _keys(client.get(p, prefix=True, min_create_revision=revs[2]), p) == ["c", "d"]
    assert _keys(client.get(p, prefix=True, max_create_revision=revs[1]), p) == ["a", "b"]


def test_get_future_revision(client: Client, prefix: str) -> None:
    rev = client.put(prefix + "k", "v").header.revision
    with pytest.raises(FutureRevisionError, match="required revision is a future revision"):
        client.get(prefix + "k", rev=rev + 1000)


# ---- delete --------------------------------------------------------------------------------


def test_delete_single_and_missing(client: Client, prefix: str) -> None:
    _fill(client, prefix)
    resp = client.delete(prefix + "a")
    assert isinstance(resp, DeleteResponse) and resp.deleted == 1 and resp.prev_kvs == []
    assert client.delete(prefix + "a").deleted == 0
    assert _keys(client.get(prefix, prefix=True), prefix) == ["b", "c", "d"]


def test_delete_prefix_range_end_from_key_prev_kv(client: Client, prefix: str) -> None:
    _fill(client, prefix)
    resp = client.delete(prefix + "a", range_end=prefix + "c", prev_kv=True)
    assert resp.deleted == 2 and [kv.value for kv in resp.prev_kvs] == [b"4", b"3"]
    _fill(client, prefix)
    assert client.delete(prefix, prefix=True).deleted == 4
    assert client.get(prefix, prefix=True).count == 0


@pytest.mark.cluster_wide  # a from-key delete reaches every key after its start: alone
def test_delete_from_key(client: Client, prefix: str) -> None:
    # A from-key delete reaches the end of the key space: start it past every "/t/..." key
    # of the other tests, in a region only this test writes (b"\xff" + its prefix).
    tail = b"\xff" + prefix.encode()
    for key in (b"a", b"b", b"c"):
        client.put(tail + key, "v")
    resp = client.delete(tail + b"b", from_key=True, prev_kv=True)
    assert [kv.key for kv in resp.prev_kvs] == [tail + b"b", tail + b"c"]
    assert [kv.key for kv in client.get(tail, prefix=True).kvs] == [tail + b"a"]
    client.delete(tail, prefix=True)


# ---- do and compact ------------------------------------------------------------------------


def test_do_runs_each_op_type(client: Client, prefix: str) -> None:
    put = client.do(Op.put(prefix + "k", "v"))
    assert isinstance(put, PutResponse)
    get = client.do(Op.get(prefix + "k"))
    assert isinstance(get, GetResponse) and get.kvs[0].value == b"v"
    deleted = client.do(Op.delete(prefix + "k"))
    assert isinstance(deleted, DeleteResponse) and deleted.deleted == 1


@pytest.mark.cluster_wide  # compacts: on a shared cluster, alone
def test_compact_then_old_revision_is_compacted(client: Client, prefix: str) -> None:
    old = client.put(prefix + "k", "1").header.revision
    now = client.put(prefix + "k", "2").header.revision
    client.compact(now, physical=True)
    with pytest.raises(CompactedError, match="required revision has been compacted"):
        client.get(prefix + "k", rev=old)
    assert client.get(prefix + "k", rev=now).kvs[0].value == b"2"
    with pytest.raises(CompactedError):
        client.compact(old)
    with pytest.raises(FutureRevisionError):
        client.compact(now + 1000)
    assert client.get(prefix + "k").kvs[0].value == b"2"


def test_put_takes_a_grant_response_as_its_lease(client: Client, prefix: str) -> None:
    grant = client.grant(60)
    try:
        client.put(prefix + "a", "1", lease=grant)
        client.txn().then(Op.put(prefix + "b", "2", lease=grant)).commit()
        kvs = client.get(prefix, prefix=True).kvs
        assert [(kv.key, kv.lease) for kv in kvs] == [
            (f"{prefix}a".encode(), grant.id),
            (f"{prefix}b".encode(), grant.id),
        ]
        held = Compare.lease(prefix + "a") == grant.id  # a get: linearizable, not serializable
        assert client.txn().if_(held).then(Op.get(prefix + "a")).commit().succeeded
    finally:
        client.revoke(grant.id)
    assert client.get(prefix, prefix=True).count == 0, "the keys went with their lease"
