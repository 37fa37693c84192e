"""A hypothesis state machine drives the watch multiplexer against a tiny fake etcd.

The fake keeps a revisioned history of a few keys, a compaction point and one watch stream:
it answers the mux's requests as etcd does (``created`` with increasing ids, a permission
refusal for key ``x``, history replayed to unsynced watchers in batches of random size,
live events to synced ones, per-watch and stream-wide progress, cancels, compaction). Its
stream-wide progress follows etcd 3.5.1 (answered at once) or 3.5.8+ (only when every
watcher is synced), chosen per example. After every step the test checks the mux's promises;
at the end it lets everything settle and checks every live watch got exactly its events.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from etcd3py import _pb
from etcd3py._watch_mux import Action, Deliver, End, Phase, Send, WatchMux, WatchSpec
from etcd3py.errors import CompactedError, PermissionDeniedError

KEYS = (b"a", b"ab", b"b", b"c", b"x")
# (key, range_end): one key, a prefix, from a key, a range, and a key the fake refuses.
RANGES = ((b"a", b""), (b"a", b"b"), (b"b", b"\0"), (b"ab", b"c"), (b"c", b""), (b"x", b""))
DENIED = b"x"
IS_PUT = st.sampled_from([True, True, False])
PUT = _pb.kv.Event.PUT
DELETE = _pb.kv.Event.DELETE

EventId = tuple[int, bytes, int]  # (mod_revision, key, type)


def in_range(key: bytes, start: bytes, end: bytes) -> bool:
    if end == b"":
        return key == start
    if end == b"\0":
        return key >= start
    return start <= key < end


def header(revision: int) -> _pb.rpc.ResponseHeader:
    return _pb.rpc.ResponseHeader(revision=revision)


@dataclass
class FakeWatcher:
    create: _pb.rpc.WatchCreateRequest
    next_rev: int  # the next revision this watcher still has to see
    synced: bool

    def wants(self, event: _pb.kv.Event) -> bool:
        if not in_range(event.kv.key, self.create.key, self.create.range_end):
            return False
        if event.type == PUT:
            return _pb.rpc.WatchCreateRequest.NOPUT not in self.create.filters
        return _pb.rpc.WatchCreateRequest.NODELETE not in self.create.filters


@dataclass
class FakeEtcd:
    """One member, one watch stream; answers go to `outbox` in the order etcd sends them."""

    progress_when_synced_only: bool
    rev: int = 1
    compact_rev: int = 0
    history: list[_pb.kv.Event] = field(default_factory=list)
    live: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # key -> (create, version)
    watchers: dict[int, FakeWatcher] = field(default_factory=dict)
    next_id: int = 0
    outbox: deque[_pb.rpc.WatchResponse] = field(default_factory=deque)
    deferred_progress: bool = False
    cancel_requests: set[int] = field(default_factory=set)  # ids asked to cancel on this stream

    def reset_stream(self) -> None:
        self.watchers.clear()
        self.cancel_requests.clear()
        self.next_id = 0
        self.outbox.clear()
        self.deferred_progress = False

    def handle(self, request: _pb.rpc.WatchRequest) -> None:
        kind = request.WhichOneof("request_union")
        if kind == "create_request":
            self._create(request.create_request)
        elif kind == "cancel_request":
            wid = request.cancel_request.watch_id
            assert wid not in self.cancel_requests, f"id {wid} cancelled twice"
            self.cancel_requests.add(wid)
            if self.watchers.pop(wid, None) is not None:
                self.outbox.append(
                    _pb.rpc.WatchResponse(header=header(self.rev), watch_id=wid, canceled=True)
                )
                self._flush_deferred_progress()
        else:
            assert kind == "progress_request"
            self.deferred_progress = True
            if not self.progress_when_synced_only:
                self._send_progress_all()
            self._flush_deferred_progress()

    def _create(self, create: _pb.rpc.WatchCreateRequest) -> None:
        if create.key == DENIED:
            refusal = _pb.rpc.WatchResponse(
                header=header(self.rev),
                created=True,
                canceled=True,
                cancel_reason="etcdserver: permission denied",
            )
            self.outbox.append(refusal)
            return
        start = create.start_revision or self.rev + 1
        wid, self.next_id = self.next_id, self.next_id + 1
        self.watchers[wid] = FakeWatcher(create, start, synced=start > self.rev)
        self.outbox.append(
            _pb.rpc.WatchResponse(header=header(self.rev), watch_id=wid, created=True)
        )

    def _send_progress_all(self) -> None:
        self.deferred_progress = False
        self.outbox.append(_pb.rpc.WatchResponse(header=header(self.rev), watch_id=-1))

    def _flush_deferred_progress(self) -> None:
        if self.deferred_progress and all(w.synced for w in self.watchers.values()):
            self._send_progress_all()

    def _send_events(self, wid: int, events: list[_pb.kv.Event]) -> None:
        watcher = self.watchers[wid]
        if watcher.create.fragment and len(events) > 1:
            for i, event in enumerate(events):
                self.outbox.append(
                    _pb.rpc.WatchResponse(
                        header=header(self.rev),
                        watch_id=wid,
                        events=[event],
                        fragment=i < len(events) - 1,
                    )
                )
            return
        self.outbox.append(
            _pb.rpc.WatchResponse(header=header(self.rev), watch_id=wid, events=events)
        )

    def write(self, changes: list[tuple[bytes, bool]]) -> None:
        """One transaction: (key, is_put) pairs; deletes of absent keys change nothing."""
        revision = self.rev + 1
        events: list[_pb.kv.Event] = []
        for key, is_put in changes:
            if is_put:
                create_rev, version = self.live.get(key, (revision, 0))
                self.live[key] = (create_rev, version + 1)
                kv = _pb.kv.KeyValue(
                    key=key,
                    value=b"v%d" % revision,
                    create_revision=create_rev,
                    mod_revision=revision,
                    version=version + 1,
                )
                events.append(_pb.kv.Event(type=PUT, kv=kv))
            elif self.live.pop(key, None) is not None:
                kv = _pb.kv.KeyValue(key=key, mod_revision=revision)
                events.append(_pb.kv.Event(type=DELETE, kv=kv))
        if not events:
            return
        self.rev = revision
        self.history.extend(events)
        for wid, watcher in self.watchers.items():
            # etcd notifies a synced watcher only from its start revision (minRev).
            if watcher.synced and revision >= watcher.next_rev:
                watcher.next_rev = revision + 1
                wanted = [e for e in events if watcher.wants(e)]
                if wanted:
                    self._send_events(wid, wanted)

    def catch_up(self, wid: int, max_revs: int) -> None:
        """Replay up to `max_revs` revisions of history to one unsynced watcher."""
        watcher = self.watchers[wid]
        if watcher.next_rev < self.compact_rev:
            del self.watchers[wid]
            self.outbox.append(
                _pb.rpc.WatchResponse(
                    header=header(self.rev),
                    watch_id=wid,
                    compact_revision=self.compact_rev,
                    canceled=True,
                )
            )
            self._flush_deferred_progress()
            return
        last = min(self.rev, watcher.next_rev + max_revs - 1)
        batch = [
            e
            for e in self.history
            if watcher.next_rev <= e.kv.mod_revision <= last and watcher.wants(e)
        ]
        watcher.next_rev = last + 1
        if batch:
            self._send_events(wid, batch)
        if watcher.next_rev > self.rev:
            watcher.synced = True
            self._flush_deferred_progress()

    def progress_tick(self) -> None:
        for wid, watcher in self.watchers.items():
            if watcher.synced and watcher.create.progress_notify:
                self.outbox.append(_pb.rpc.WatchResponse(header=header(self.rev), watch_id=wid))

    def unsynced(self) -> list[int]:
        return [wid for wid, w in self.watchers.items() if not w.synced]


@dataclass
class Model:
    """What the user of one watch has seen."""

    spec: WatchSpec
    start: int | None  # first revision owed; None until a "from now" watch is created
    delivered: list[EventId] = field(default_factory=list)
    buffered: int = 0
    end: End | None = None
    closed: bool = False
    announced: bool = False  # the `created` response was delivered
    last_next: int = 0


class WatchMuxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mux = WatchMux()
        self.fake = FakeEtcd(progress_when_synced_only=True)
        self.models: dict[int, Model] = {}
        self.up = False
        self.creates_in_flight = 0
        self.window = 1

    @initialize(limit=st.integers(1, 4), synced_only=st.booleans(), window=st.sampled_from([1, 3]))
    def setup(self, limit: int, synced_only: bool, window: int) -> None:
        self.window = window
        self.mux = WatchMux(buffer_limit=limit, create_window=window)
        self.fake = FakeEtcd(progress_when_synced_only=synced_only)
        self.open_stream()

    # ---- plumbing ----------------------------------------------------------------------------

    def execute(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                assert self.up, "a request while the stream is down"
                if action.request.HasField("create_request"):
                    self.creates_in_flight += 1
                    assert self.creates_in_flight <= self.window, "too many creates in flight"
                self.fake.handle(action.request)
            elif isinstance(action, Deliver):
                self.deliver(action)
            else:
                model = self.models[action.wid]
                assert model.end is None, f"watch {action.wid} ended twice"
                model.end = action

    def deliver(self, action: Deliver) -> None:
        model = self.models[action.wid]
        assert model.end is None, "delivery after End"
        model.buffered += 1
        if action.response.created:
            assert model.spec.created_notify and not model.announced, "created delivered again"
            model.announced = True
        for event in action.response.events:
            event_id = (event.kv.mod_revision, event.kv.key, event.type)
            assert event_id not in model.delivered, f"event delivered twice: {event_id}"
            if model.delivered:
                assert event.kv.mod_revision >= model.delivered[-1][0], "out of order"
            model.delivered.append(event_id)

    def feed(self, response: _pb.rpc.WatchResponse) -> None:
        newly_active_candidates = [
            wid
            for wid, m in self.models.items()
            if m.start is None and self.mux.phase(wid) is Phase.QUEUED
        ]
        if response.created:
            self.creates_in_flight -= 1
        self.execute(self.mux.on_response(response))
        for wid in newly_active_candidates:
            if self.mux.phase(wid) in (Phase.ACTIVE, Phase.PAUSED):
                assert response.created
                self.models[wid].start = response.header.revision + 1

    def expected(self, model: Model) -> list[EventId]:
        if model.start is None:
            return []
        spec = model.spec
        return [
            (e.kv.mod_revision, e.kv.key, e.type)
            for e in self.fake.history
            if e.kv.mod_revision >= model.start
            and in_range(e.kv.key, spec.key, spec.range_end)
            and not (spec.filter_put and e.type == PUT)
            and not (spec.filter_delete and e.type == DELETE)
        ]

    def live(self) -> list[int]:
        return [wid for wid, m in self.models.items() if m.end is None]

    # ---- rules -------------------------------------------------------------------------------

    @rule(
        where=st.sampled_from(RANGES),
        start=st.sampled_from(["now", "old", "future"]),
        back=st.integers(0, 6),
        filters=st.sampled_from(["", "", "", "put", "delete"]),
        progress_notify=st.booleans(),
        created_notify=st.booleans(),
        fragment=st.booleans(),
    )
    def add_watch(
        self,
        where: tuple[bytes, bytes],
        start: str,
        back: int,
        filters: str,
        progress_notify: bool,
        created_notify: bool,
        fragment: bool,
    ) -> None:
        revision = {"now": 0, "old": max(1, self.fake.rev - back), "future": self.fake.rev + 2}
        spec = WatchSpec(
            key=where[0],
            range_end=where[1],
            start_revision=revision[start],
            filter_put=filters == "put",
            filter_delete=filters == "delete",
            progress_notify=progress_notify,
            created_notify=created_notify,
            fragment=fragment,
        )
        wid, actions = self.mux.add(spec)
        self.models[wid] = Model(spec, spec.start_revision or None)
        self.execute(actions)

    @precondition(lambda self: bool(self.live()))
    @rule(index=st.integers(0, 50), chance=st.integers(0, 3))
    def close_watch(self, index: int, chance: int) -> None:
        if chance:  # rarer than the other rules, so watches live long enough to resume
            return
        live = self.live()
        wid = live[index % len(live)]
        self.models[wid].closed = True
        self.execute(self.mux.close(wid))
        assert self.models[wid].end == End(wid, None, None)

    @rule(
        txns=st.lists(
            # etcd refuses a transaction that changes one key twice
            st.lists(
                st.tuples(st.sampled_from(KEYS), IS_PUT),
                min_size=1,
                max_size=2,
                unique_by=lambda change: change[0],
            ),
            min_size=1,
            max_size=3,
        )
    )
    def write(self, txns: list[list[tuple[bytes, bool]]]) -> None:
        for changes in txns:
            self.fake.write(changes)

    @precondition(lambda self: self.up and bool(self.fake.outbox))
    @rule(count=st.integers(1, 12))
    def receive(self, count: int) -> None:
        for _ in range(min(count, len(self.fake.outbox))):
            self.feed(self.fake.outbox.popleft())

    @precondition(lambda self: bool(self.fake.unsynced()))
    @rule(index=st.integers(0, 50), max_revs=st.integers(1, 4))
    def server_catch_up(self, index: int, max_revs: int) -> None:
        unsynced = self.fake.unsynced()
        self.fake.catch_up(unsynced[index % len(unsynced)], max_revs)

    @rule()
    def server_progress_tick(self) -> None:
        self.fake.progress_tick()

    @rule()
    def request_progress(self) -> None:
        self.execute(self.mux.request_progress())

    @precondition(lambda self: self.fake.rev > 1)
    @rule(back=st.integers(0, 4), chance=st.integers(0, 2))
    def compact(self, back: int, chance: int) -> None:
        if chance:
            return
        self.fake.compact_rev = max(self.fake.compact_rev, self.fake.rev - back)

    @precondition(lambda self: self.up)
    @rule()
    def break_stream(self) -> None:
        self.fake.reset_stream()
        self.up = False
        self.creates_in_flight = 0
        assert self.mux.stream_broken(ConnectionError("reset")) == []

    @precondition(lambda self: not self.up)
    @rule()
    def open_stream(self) -> None:
        self.up = True
        self.execute(self.mux.stream_opened())

    @precondition(lambda self: any(self.models[w].buffered for w in self.live()))
    @rule(index=st.integers(0, 50), count=st.integers(1, 3))
    def consume(self, index: int, count: int) -> None:
        backlog = [w for w in self.live() if self.models[w].buffered]
        wid = backlog[index % len(backlog)]
        model = self.models[wid]
        count = min(count, model.buffered)
        model.buffered -= count
        self.execute(self.mux.consumed(wid, count))

    # ---- invariants --------------------------------------------------------------------------

    @invariant()
    def creates_in_flight_within_window(self) -> None:
        assert self.creates_in_flight <= self.window
        if self.up:
            assert self.mux.creates_in_flight == self.creates_in_flight

    @invariant()
    def deliveries_are_a_prefix_of_history(self) -> None:
        for wid, model in self.models.items():
            expected = self.expected(model)
            assert model.delivered == expected[: len(model.delivered)], f"watch {wid}"

    @invariant()
    def phases_and_ends_agree(self) -> None:
        assert self.mux.live_count == len(self.live())
        for wid, model in self.models.items():
            phase = self.mux.phase(wid)
            assert (phase is Phase.ENDED) == (model.end is not None)
            if model.end is None:
                nxt = self.mux.next_revision(wid)
                assert nxt >= model.last_next, "next revision went back"
                model.last_next = nxt
                if model.delivered:
                    assert nxt > model.delivered[-1][0]
            elif not model.closed:
                self.check_end_reason(model)

    def check_end_reason(self, model: Model) -> None:
        end = model.end
        assert end is not None and end.final is not None
        if model.spec.key == DENIED:
            assert isinstance(end.error, PermissionDeniedError)
        else:
            assert isinstance(end.error, CompactedError)
            assert end.final.compact_revision == self.fake.compact_rev or (
                0 < end.final.compact_revision < self.fake.compact_rev
            )

    # ---- the end: everything settles, every live watch has all its events --------------------

    def settle(self) -> None:
        for _ in range(500):
            if not self.up:
                self.open_stream()
            progressed = False
            for wid in self.live():
                model = self.models[wid]
                if model.buffered:
                    count, model.buffered = model.buffered, 0
                    self.execute(self.mux.consumed(wid, count))
                    progressed = True
            for wid in self.fake.unsynced():
                self.fake.catch_up(wid, 1000)
                progressed = True
            for _ in range(min(len(self.fake.outbox), 1000)):
                self.feed(self.fake.outbox.popleft())
                progressed = True
            if not progressed:
                return
        raise AssertionError("the mux and the fake did not settle")

    def teardown(self) -> None:
        self.settle()
        active = 0
        for wid in self.live():
            model = self.models[wid]
            assert self.mux.phase(wid) is Phase.ACTIVE, f"watch {wid} stuck"
            assert model.delivered == self.expected(model), f"watch {wid} missed events"
            active += 1
        assert len(self.fake.watchers) == active, "server watchers leaked"
        ended = self.mux.shutdown(None)
        assert sorted(e.wid for e in ended) == sorted(self.live())


WatchMuxMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=80,
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWatchMuxStateful = WatchMuxMachine.TestCase
