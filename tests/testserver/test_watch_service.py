"""The reference server's Watch service over raw gRPC stubs (no etcd3py client)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from etcd3py import _pb, _stubs
from tests.raw_streams import RawWatch
from testserver import Server
from testserver.faults import DROPPED_MESSAGE

rpc = _pb.rpc
PUT = _pb.kv.Event.PUT
DELETE = _pb.kv.Event.DELETE
WAIT = 10.0  # seconds any one expected response may take


def events_of(responses: list[rpc.WatchResponse]) -> list[tuple[int, bytes, bytes, int]]:
    """Flatten responses into (type, key, value, mod revision) tuples."""
    return [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision) for r in responses for e in r.events]


def is_progress(resp: rpc.WatchResponse) -> bool:
    return resp.watch_id == -1 and not resp.events and not resp.created


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as srv:
        yield srv


@pytest.fixture
def channel(server: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.endpoint) as ch:
        yield ch


def put(channel: grpc.Channel, key: bytes, value: bytes = b"v") -> int:
    resp = _stubs.rpc_grpc.KVStub(channel).Put(rpc.PutRequest(key=key, value=value), timeout=WAIT)
    return int(resp.header.revision)


def test_create_events_and_cancel(server: Server, channel: grpc.Channel) -> None:
    with RawWatch(channel) as w:
        w.create(b"a/", b"a0")
        created = w.next()
        assert created.created and created.watch_id == 0 and created.header.revision == 1
        assert created.header.cluster_id == server.state.header.cluster_id
        assert created.header.member_id == server.state.header.member_id
        assert created.header.raft_term == server.state.header.raft_term
        put(channel, b"b")
        rev = put(channel, b"a/1", b"x")
        resp = w.next()
        assert resp.watch_id == 0 and resp.header.revision == rev
        assert events_of([resp]) == [(PUT, b"a/1", b"x", rev)]
        w.cancel(0)
        canceled = w.next()
        assert canceled.canceled and canceled.watch_id == 0 and not canceled.created
        put(channel, b"a/2")
        w.progress()  # answered in order: nothing for the cancelled watch comes before it
        assert is_progress(w.next())


def test_watch_ids_explicit_ids_and_refused_creates(channel: grpc.Channel) -> None:
    with RawWatch(channel) as w:
        w.create(b"k")
        w.create(b"k", watch_id=1)
        w.create(b"k", watch_id=1)
        w.create(b"b", b"a")
        w.create(b"k")
        got = [w.next() for _ in range(5)]
        assert [(r.watch_id, r.created, r.canceled) for r in got] == [
            (0, True, False),
            (1, True, False),
            (-1, True, True),
            (-1, True, True),
            (2, True, False),
        ]
        assert got[2].cancel_reason == "mvcc: duplicate watch ID provided on the WatchStream"
        assert got[3].cancel_reason == "mvcc: watcher range is empty"
        w.cancel(99)  # unknown: no answer
        w.progress()
        assert is_progress(w.next())


def test_replay_from_an_old_revision_and_compaction(channel: grpc.Channel) -> None:
    revs = [put(channel, b"k", b"%d" % i) for i in range(10)]
    kv = _stubs.rpc_grpc.KVStub(channel)
    kv.Compact(rpc.CompactionRequest(revision=revs[5]), timeout=WAIT)
    with RawWatch(channel) as w:
        w.create(b"k", start_revision=revs[2])
        assert w.next().created
        compacted = w.next()
        assert compacted.canceled and compacted.compact_revision == revs[5]
        assert compacted.header.revision == 0 and not compacted.events
        w.cancel(0)  # a compacted watch can still be cancelled, as etcd
        assert w.next().canceled
        w.create(b"k", start_revision=revs[5], prev_kv=True)
        assert w.next().created
        got = w.until(lambda r: bool(r.events) and r.events[-1].kv.mod_revision == revs[-1])
        assert [e[3] for e in events_of(got)] == revs[5:]
        first = got[0].events[0]
        assert not first.HasField("prev_kv")  # its previous version is compacted away
        assert got[-1].events[-1].prev_kv.mod_revision == revs[-2]


def test_filters_and_prev_kv(channel: grpc.Channel) -> None:
    with RawWatch(channel) as w:
        w.create(b"k", filters=[rpc.WatchCreateRequest.NOPUT], prev_kv=True)
        w.create(b"k", filters=[rpc.WatchCreateRequest.NODELETE], prev_kv=True)
        assert w.next().created and w.next().created
        r1 = put(channel, b"k", b"one")
        r2 = put(channel, b"k", b"two")
        kv = _stubs.rpc_grpc.KVStub(channel)
        r3 = kv.DeleteRange(rpc.DeleteRangeRequest(key=b"k"), timeout=WAIT).header.revision
        got = w.until(lambda r: r.watch_id == 0)
        puts = [r for r in got if r.watch_id == 1]
        assert [e.kv.mod_revision for r in puts for e in r.events] == [r1, r2]
        assert not puts[0].events[0].HasField("prev_kv")  # a create has no previous version
        assert puts[-1].events[-1].prev_kv.value == b"one"
        deletion = got[-1].events[0]
        assert deletion.type == DELETE
        assert deletion.kv.key == b"k" and deletion.kv.mod_revision == r3
        assert deletion.kv.create_revision == 0 and deletion.prev_kv.value == b"two"


def test_txn_events_arrive_in_one_response_in_request_order(channel: grpc.Channel) -> None:
    ops = [rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=b"t")) for k in (b"p/b", b"p/a")]
    with RawWatch(channel) as w:
        w.create(b"p/", b"p0")
        assert w.next().created
        rev = _stubs.rpc_grpc.KVStub(channel).Txn(rpc.TxnRequest(success=ops)).header.revision
        resp = w.next()
        assert [(e.kv.key, e.kv.mod_revision) for e in resp.events] == [
            (b"p/b", rev),
            (b"p/a", rev),
        ]


def test_progress_request_waits_until_every_watcher_is_synced() -> None:
    srv = Server()
    for i in range(3000):  # written before serving: the store may be touched while stopped
        tx = srv.store.write()
        tx.put(b"h/%d" % (i % 7), b"v", 0)
        tx.end()
    with srv, grpc.insecure_channel(srv.endpoint) as ch, RawWatch(ch) as w:
        w.create(b"h/", b"h0", start_revision=2)
        w.create(b"zzz")  # synced at once
        w.progress()
        got = w.until(is_progress)
        assert sum(len(r.events) for r in got) == 3000
        assert got[-1].header.revision == 3001


def test_progress_notify_reaches_quiet_synced_watchers() -> None:
    with (
        Server(progress_interval=0.1) as srv,
        grpc.insecure_channel(srv.endpoint) as ch,
        RawWatch(ch) as w,
    ):
        rev = put(ch, b"unrelated")
        w.create(b"quiet", progress_notify=True)
        w.create(b"other")  # no progress_notify: never notified
        assert w.next().created and w.next().created
        notes = [w.next() for _ in range(3)]
        for note in notes:
            assert note.watch_id == 0 and not note.events and not note.canceled
        assert notes[-1].header.revision == rev


def test_fragments_split_large_responses_only_when_asked() -> None:
    limit_req = 64 * 1024
    with (
        Server(max_request_bytes=limit_req) as srv,
        grpc.insecure_channel(
            srv.endpoint, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        ) as ch,
    ):
        revs = [put(ch, b"big/%02d" % i, bytes([65 + i]) * 60_000) for i in range(20)]
        with RawWatch(ch) as w:
            w.create(b"big/", b"big0", start_revision=revs[0], fragment=True)
            assert w.next().created
            parts = w.until(lambda r: not r.fragment)
            assert len(parts) > 1 and all(p.fragment for p in parts[:-1])
            limit = limit_req + 512 * 1024
            assert all(p.ByteSize() < limit for p in parts)
            assert [e[3] for e in events_of(parts)] == revs
            w.create(b"big/", b"big0", start_revision=revs[0])
            assert w.next().created
            whole = w.next()
            assert not whole.fragment and [e[3] for e in events_of([whole])] == revs


def test_many_streams_and_many_watches(server: Server, channel: grpc.Channel) -> None:
    streams = [RawWatch(channel) for _ in range(10)]
    try:
        for s, w in enumerate(streams):
            for i in range(50):
                w.create(b"m/%d/%d" % (s, i))
        for w in streams:
            assert [w.next().watch_id for _ in range(50)] == list(range(50))
        for s in range(10):
            for i in range(0, 50, 5):
                put(channel, b"m/%d/%d" % (s, i), b"x")
        for s, w in enumerate(streams):
            got = [w.next() for _ in range(10)]
            assert [(r.watch_id, r.events[0].kv.key) for r in got] == [
                (i, b"m/%d/%d" % (s, i)) for i in range(0, 50, 5)
            ]
    finally:
        for w in streams:
            w.close()


def _resume_after(break_streams: Callable[[Server], None]) -> None:
    with Server() as srv, grpc.insecure_channel(srv.endpoint) as ch:
        first = [put(ch, b"r/%d" % i) for i in range(3)]
        with RawWatch(ch) as w:
            w.create(b"r/", b"r0", start_revision=first[0])
            assert w.next().created
            seen = events_of(
                w.until(lambda r: bool(r.events) and r.events[-1].kv.mod_revision == first[-1])
            )
            break_streams(srv)
            with pytest.raises(grpc.RpcError) as info:
                w.until(lambda r: False)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        later = [put(ch, b"r/%d" % i, b"again") for i in range(3)]
        with RawWatch(ch) as w:
            w.create(b"r/", b"r0", start_revision=seen[-1][3] + 1)
            assert w.next().created
            more = w.until(lambda r: bool(r.events) and r.events[-1].kv.mod_revision == later[-1])
        assert [e[3] for e in seen + events_of(more)] == first + later


def test_drop_streams_breaks_watch_streams_and_history_allows_resume() -> None:
    def drop(srv: Server) -> None:
        assert srv.drop_streams() == 1

    _resume_after(drop)


def test_restart_breaks_watch_streams_and_keeps_history() -> None:
    _resume_after(lambda srv: srv.restart())


def test_dropped_message_is_the_fault_injection_one() -> None:
    with Server() as srv, grpc.insecure_channel(srv.endpoint) as ch, RawWatch(ch) as w:
        w.create(b"k")
        assert w.next().created
        srv.drop_streams()
        with pytest.raises(grpc.RpcError) as info:
            w.next()
        assert info.value.details() == DROPPED_MESSAGE


def test_replaying_fifty_thousand_events_to_one_watcher() -> None:
    srv = Server()
    for i in range(50_000):
        tx = srv.store.write()
        tx.put(b"e/%04d" % (i % 1000), b"value-%d" % i, 0)
        tx.end()
    opts = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    with srv, grpc.insecure_channel(srv.endpoint, options=opts) as ch, RawWatch(ch) as w:
        w.create(b"e/", b"e0", start_revision=2)
        assert w.next().created
        got = w.until(lambda r: bool(r.events) and r.events[-1].kv.mod_revision == 50_001)
        revs = [e[3] for e in events_of(got)]
        assert revs == list(range(2, 50_002))
        assert max(len(r.events) for r in got) <= 1000  # batches of at most 1000 revisions


def test_command_line_progress_interval() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "testserver", "--port", "0", "--progress-interval", "0.1"]
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=root, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            endpoint = proc.stdout.readline().strip().removeprefix("listening on ")
            with grpc.insecure_channel(endpoint) as ch, RawWatch(ch) as w:
                w.create(b"k", progress_notify=True)
                assert w.next().created
                note = w.next()
                assert note.watch_id == 0 and not note.events and note.header.revision == 1
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
