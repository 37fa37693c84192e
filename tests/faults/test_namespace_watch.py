"""Namespaced watches resume after the reference server drops its streams, like any other.

A namespaced client's watches (an iterator and a callback) share the parent's streams; the
server aborts every stream several times while keys inside and outside the namespace are
written. Each watch must see every inside event once, in order, stripped, and nothing else.
"""

from __future__ import annotations

import threading
import time

import pytest

from etcd3py import Client, WatchResponse
from tests.backends import Backend

pytestmark = [pytest.mark.faults, pytest.mark.testserver_only, pytest.mark.both_faces]

WAIT = 30.0
N_PUTS = 300
DROP_AT = (50, 120, 121, 200)


def test_namespaced_watch_resumes_after_dropped_streams(
    client: Client, backend: Backend, prefix: str
) -> None:
    srv = backend.server
    assert srv is not None
    ns = client.with_namespace(prefix + "ns/")
    rev = client.get(prefix + "\0").header.revision + 1
    got: list[tuple[bytes, int]] = []
    lock = threading.Lock()
    all_in = threading.Event()
    expected: list[tuple[bytes, int]] = []
    drops: list[int] = []

    def on_response(resp: WatchResponse) -> None:
        assert resp.err() is None, resp.err()
        with lock:
            got.extend((ev.kv.key, ev.kv.mod_revision) for ev in resp.events)
            if len(got) >= N_PUTS // 2:
                all_in.set()

    with ns:
        handle = ns.add_watch_callback("", on_response, prefix=True, rev=rev)
        chan = ns.watch("k", range_end="l", rev=rev)
        for i in range(N_PUTS):
            inside = i % 2 == 0
            key = f"k{i:04d}"
            put = client.put((prefix + "ns/" if inside else prefix) + key, str(i))
            if inside:
                expected.append((key.encode(), put.header.revision))
            if i in DROP_AT:
                drops.append(srv.drop_streams())
        assert all_in.wait(WAIT), f"{len(got)} of {len(expected)} events came"
        from_chan: list[tuple[bytes, int]] = []
        deadline = time.monotonic() + WAIT
        while len(from_chan) < len(expected) and time.monotonic() < deadline:
            resp = chan.get(deadline - time.monotonic())
            assert resp is not None and resp.err() is None, resp
            from_chan.extend((ev.kv.key, ev.kv.mod_revision) for ev in resp.events)
        handle.close()
    with lock:
        assert got == expected
    assert from_chan == expected
    assert chan.done and not client.closed
    assert drops[0] >= 1, "the first drop found the watch stream open (a resume happened)"
