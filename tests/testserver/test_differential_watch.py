"""Differential test of Watch: the reference server must stream what real etcd streams.

A seeded generator interleaves writes (puts, deletes, delete-ranges, txns of several puts, one
compaction) with watches (single keys, prefixes, ranges, from-key, empty ranges; start
revisions now, old, at the compaction, before it, in the future; NOPUT / NODELETE; prev_kv)
and cancels. The same script runs against a fresh reference server and a fresh real etcd
through raw stubs, and per watch the created response, the flattened event sequence (type,
kv, prev_kv) and the ending (cancel, compaction) must be identical. Response boundaries are
not compared: etcd batches by timing.

Timing-dependent points are kept out of the comparison by *sync points*: before a compaction
or a cancel, every live watch gets a marker write on its own key and the script waits until
each has seen its marker, so no watch is still replaying when history is cut or it is
cancelled.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from etcd3py import _pb, _stubs
from tests.backends import BackendUnavailable, _etcd34_binary, _etcd35_binary, running_etcd
from tests.raw_streams import RawWatch
from testserver import Server

pytestmark = pytest.mark.timeout(600)

rpc = _pb.rpc
SEEDS = [11, 12, 13]
STEPS = 260
KEYS = [b"a", b"a/1", b"a/2", b"a/2/x", b"ab", b"b", b"b/1", b"c", b"c\xff", b"d"]
FILLER = b"\x00filler"  # a key no generated watch covers
NOPUT = rpc.WatchCreateRequest.NOPUT
NODELETE = rpc.WatchCreateRequest.NODELETE


def prefix_end(key: bytes) -> bytes:
    return key[:-1] + bytes([key[-1] + 1]) if key[-1] < 0xFF else b"\x00"


@dataclass
class Watch:
    """What the script asked for, and what one backend streamed for it."""

    create: rpc.WatchCreateRequest
    watch_id: int = -2
    created: tuple[Any, ...] = ()
    events: list[tuple[Any, ...]] = field(default_factory=list)
    ending: list[tuple[Any, ...]] = field(default_factory=list)
    last_rev: int = 0

    @property
    def live(self) -> bool:
        return self.watch_id >= 0 and not self.ending

    def record(self) -> tuple[Any, ...]:
        return (self.created, self.events, self.ending)


def _kv(kv: _pb.kv.KeyValue) -> tuple[Any, ...]:
    return (kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease)


class Runner:
    """Runs one script against one backend through a KV stub and one raw Watch stream."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.kv = _stubs.rpc_grpc.KVStub(channel)
        self.stream = RawWatch(channel)
        self.watches: list[Watch] = []
        self.by_id: dict[int, Watch] = {}
        self.rev = 1
        self.compacted = 0

    def close(self) -> None:
        self.stream.close()

    # ---- writes ----------------------------------------------------------------------------

    def write(self, method: str, req: Any) -> int:
        resp = getattr(self.kv, method)(req, timeout=30)
        self.rev = int(resp.header.revision)
        return self.rev

    # ---- watch responses -------------------------------------------------------------------

    def _dispatch(self, resp: rpc.WatchResponse) -> None:
        w = self.by_id.get(resp.watch_id)
        assert w is not None, f"response for unknown watch {resp.watch_id}: {resp}"
        assert not resp.created
        for ev in resp.events:
            prev = _kv(ev.prev_kv) if ev.HasField("prev_kv") else None
            w.events.append((ev.type, _kv(ev.kv), prev))
            w.last_rev = ev.kv.mod_revision
        if resp.canceled or resp.compact_revision:
            w.ending.append((resp.canceled, resp.compact_revision, resp.cancel_reason))

    def watch(self, create: rpc.WatchCreateRequest) -> None:
        w = Watch(create)
        self.watches.append(w)
        self.stream.send(rpc.WatchRequest(create_request=create))
        for _ in range(100_000):
            resp = self.stream.next()
            if not resp.created:
                self._dispatch(resp)
                continue
            w.watch_id = resp.watch_id
            w.created = (resp.watch_id, resp.canceled, resp.cancel_reason, resp.header.revision)
            if resp.watch_id >= 0:
                self.by_id[resp.watch_id] = w
                if 0 < create.start_revision < self.compacted:
                    self.wait(lambda: bool(w.ending))  # its compaction cancel, whenever it comes
            return
        raise AssertionError("no created response")

    def cancel(self, w: Watch) -> None:
        self.sync_point(last=w)  # w's marker is the newest write: w has seen every event
        self.stream.cancel(w.watch_id)
        self.wait(lambda: bool(w.ending))

    def wait(self, done: Callable[[], bool]) -> None:
        for _ in range(100_000):
            if done():
                return
            self._dispatch(self.stream.next())
        raise AssertionError("watch responses did not arrive")

    def sync_point(self, last: Watch | None = None) -> dict[int, int]:
        """Write a marker for every live watch (``last``'s last) and wait until each saw its own.

        Returns:
            The marker revision of each live watch, by ``id()`` of the watch.
        """
        live = [w for w in self.watches if w.live and w is not last]
        if last is not None:
            live.append(last)
        while self.rev < max([w.create.start_revision for w in live] + [0]):
            self.write("Put", rpc.PutRequest(key=FILLER, value=b"f"))
        markers: dict[int, int] = {}
        for w in live:
            key = w.create.key
            self.write("Put", rpc.PutRequest(key=key, value=b"marker"))
            if NOPUT in w.create.filters:
                self.write("DeleteRange", rpc.DeleteRangeRequest(key=key))
            markers[id(w)] = self.rev
        self.wait(lambda: all(w.ending or w.last_rev >= markers[id(w)] for w in live))
        return markers

    def finish(self) -> None:
        """End the run: keep of each live watch only the events up to its own marker.

        Events after a watch's marker may or may not have arrived when the wait ends.
        """
        markers = self.sync_point()
        for w in self.watches:
            if id(w) in markers and not w.ending:
                w.events = [e for e in w.events if e[1][3] <= markers[id(w)]]


class Script:
    """A seeded sequence of steps, each applied to a Runner."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def steps(self) -> Iterator[Callable[[Runner], object]]:
        compact_at = self.rnd.randrange(STEPS // 3, 2 * STEPS // 3)
        for i in range(STEPS):
            r = self.rnd.random()
            if i == compact_at:
                yield self.compact
            elif r < 0.1:
                yield self.new_watch()
            elif r < 0.12:
                yield self.cancel_one(self.rnd.random())
            else:
                yield self.new_write()
        yield lambda run: run.finish()

    def compact(self, run: Runner) -> None:
        run.sync_point()
        rev = run.write("Put", rpc.PutRequest(key=FILLER, value=b"c"))  # compact on a put
        run.write("Compact", rpc.CompactionRequest(revision=rev))
        run.compacted = rev

    def cancel_one(self, pick: float) -> Callable[[Runner], object]:
        def step(run: Runner) -> None:
            live = [w for w in run.watches if w.live]
            if live:
                run.cancel(live[int(pick * len(live))])

        return step

    def new_write(self) -> Callable[[Runner], object]:
        rnd = self.rnd
        r = rnd.random()
        key = rnd.choice(KEYS)
        value = rnd.choice([b"", b"v", b"v2", b"x" * 30])
        if r < 0.55:
            return lambda run: run.write("Put", rpc.PutRequest(key=key, value=value, prev_kv=True))
        if r < 0.7:
            return lambda run: run.write("DeleteRange", rpc.DeleteRangeRequest(key=key))
        if r < 0.8:
            end = prefix_end(key)
            req = rpc.DeleteRangeRequest(key=key, range_end=end)
            return lambda run: run.write("DeleteRange", req)
        keys = rnd.sample(KEYS, rnd.randrange(2, 5))
        ops = [rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value)) for k in keys]
        txn = rpc.TxnRequest(success=ops)
        return lambda run: run.write("Txn", txn)

    def _range(self) -> tuple[bytes, bytes]:
        rnd = self.rnd
        key = rnd.choice(KEYS)
        r = rnd.random()
        if r < 0.35:
            return key, b""
        if r < 0.65:
            return key, prefix_end(key)
        if r < 0.8:
            return key, b"\x00"
        return key, rnd.choice(KEYS)  # a range; empty (refused) when it ends before key

    def new_watch(self) -> Callable[[Runner], object]:
        rnd = self.rnd
        key, end = self._range()
        r = rnd.random()
        filters = [] if r < 0.7 else [NOPUT] if r < 0.85 else [NODELETE]
        prev_kv = rnd.random() < 0.5
        how = rnd.random()
        rnd_pick = rnd.random()

        def step(run: Runner) -> None:
            cur = run.rev
            if how < 0.3:
                start = 0
            elif how < 0.85:
                start = 1 + int(rnd_pick * cur)  # any past revision, maybe compacted
            else:
                start = cur + 1 + int(rnd_pick * 3)
            run.watch(
                rpc.WatchCreateRequest(
                    key=key, range_end=end, start_revision=start, filters=filters, prev_kv=prev_kv
                )
            )

        return step


def run_script(endpoint: str, seed: int) -> list[tuple[Any, ...]]:
    with grpc.insecure_channel(endpoint) as ch:
        run = Runner(ch)
        try:
            for step in Script(seed).steps():
                step(run)
            return [w.record() for w in run.watches]
        finally:
            run.close()


def test_script_exercises_every_kind_of_watch() -> None:
    """The generator's scripts reach compaction cancels, replays, filters and cancels."""
    with Server() as srv:
        records = [r for seed in SEEDS for r in run_script(srv.endpoint, seed)]
    # one server for every seed: later seeds start from a higher revision, which is fine here
    assert any(ending and ending[0][1] for _, _, ending in records)  # compacted
    assert any(ending and not ending[0][1] for _, _, ending in records)  # cancelled
    assert any(created[1] for created, _, _ in records)  # refused (empty range)
    assert any(len(events) > 20 for _, events, _ in records)
    assert any(ev[2] is not None for _, events, _ in records for ev in events)  # prev_kv


_BINARIES = {"etcd35": _etcd35_binary, "etcd34": _etcd34_binary}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("binary_name", sorted(_BINARIES))
def test_reference_server_streams_as_real_etcd(binary_name: str, seed: int) -> None:
    try:
        binary: Path = _BINARIES[binary_name]()[0]
    except BackendUnavailable as exc:
        pytest.skip(f"{binary_name} unavailable: {exc}")
    with Server() as srv:
        ours = run_script(srv.endpoint, seed)
    with running_etcd(binary, binary_name) as etcd:
        theirs = run_script(etcd.endpoints[0], seed)
    assert len(ours) == len(theirs)
    for i, (mine, real) in enumerate(zip(ours, theirs, strict=True)):
        assert mine[0] == real[0], f"watch {i}: created differs"
        assert mine[1] == real[1], f"watch {i}: events differ"
        assert mine[2] == real[2], f"watch {i}: ending differs"
