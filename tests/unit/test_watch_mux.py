"""Scripted scenarios for the sans-IO watch multiplexer: feed inputs, assert the exact actions."""

from __future__ import annotations

import pytest

from etcd3py import _pb
from etcd3py._watch_mux import (
    Action,
    Deliver,
    End,
    MuxWatch,
    Phase,
    Reauth,
    Send,
    WatchMux,
    WatchSpec,
    watch_error,
)
from etcd3py.errors import (
    CompactedError,
    FutureRevisionError,
    InvalidAuthTokenError,
    PermissionDeniedError,
    WatchCanceledError,
)

WatchResponse = _pb.rpc.WatchResponse
NOPUT = _pb.rpc.WatchCreateRequest.NOPUT
NODELETE = _pb.rpc.WatchCreateRequest.NODELETE
WatchCreateRequest = _pb.rpc.WatchCreateRequest


# ---- builders ----------------------------------------------------------------------------------


def spec(key: bytes = b"k", start: int = 0, **options: bool) -> WatchSpec:
    return WatchSpec(key=key, range_end=b"", start_revision=start, **options)


def header(revision: int) -> _pb.rpc.ResponseHeader:
    return _pb.rpc.ResponseHeader(revision=revision, cluster_id=1, member_id=2)


def created(
    server_id: int, revision: int, *, canceled: bool = False, reason: str = ""
) -> WatchResponse:
    return WatchResponse(
        header=header(revision),
        watch_id=server_id,
        created=True,
        canceled=canceled,
        cancel_reason=reason,
    )


def event(revision: int, key: bytes = b"k") -> _pb.kv.Event:
    kv = _pb.kv.KeyValue(key=key, value=b"v", create_revision=1, mod_revision=revision, version=1)
    return _pb.kv.Event(type=_pb.kv.Event.PUT, kv=kv)


def events(server_id: int, *revisions: int, fragment: bool = False) -> WatchResponse:
    return WatchResponse(
        header=header(max(revisions)),
        watch_id=server_id,
        events=[event(r) for r in revisions],
        fragment=fragment,
    )


def progress(server_id: int, revision: int) -> WatchResponse:
    return WatchResponse(header=header(revision), watch_id=server_id)


def canceled(server_id: int, reason: str = "") -> WatchResponse:
    return WatchResponse(header=header(9), watch_id=server_id, canceled=True, cancel_reason=reason)


def compacted(server_id: int, compact_revision: int) -> WatchResponse:
    return WatchResponse(
        header=header(20), watch_id=server_id, compact_revision=compact_revision, canceled=True
    )


def create_of(action: Action) -> _pb.rpc.WatchCreateRequest:
    assert isinstance(action, Send)
    assert action.request.WhichOneof("request_union") == "create_request"
    return action.request.create_request


def cancel_of(action: Action) -> int:
    assert isinstance(action, Send)
    assert action.request.WhichOneof("request_union") == "cancel_request"
    return action.request.cancel_request.watch_id


def delivered_revisions(actions: list[Action], wid: int) -> list[int]:
    return [
        e.kv.mod_revision
        for a in actions
        if isinstance(a, Deliver) and a.wid == wid
        for e in a.response.events
    ]


def up_mux(limit: int = 1000, window: int = 1) -> WatchMux:
    mux = WatchMux(buffer_limit=limit, create_window=window)
    assert mux.stream_opened() == []
    return mux


def active(mux: WatchMux, s: WatchSpec, server_id: int, revision: int = 10) -> int:
    """Add a watch on an idle, up mux and answer its create."""
    wid, actions = mux.add(s)
    assert len(actions) == 1
    create_of(actions[0])
    mux.on_response(created(server_id, revision))
    assert mux.phase(wid) is Phase.ACTIVE
    return wid


# ---- creation queue ----------------------------------------------------------------------------


def test_create_request_carries_every_option() -> None:
    mux = up_mux()
    s = WatchSpec(
        key=b"a",
        range_end=b"b",
        start_revision=7,
        prev_kv=True,
        filter_put=True,
        filter_delete=True,
        progress_notify=True,
        fragment=True,
    )
    _, actions = mux.add(s)
    create = create_of(actions[0])
    assert (create.key, create.range_end, create.start_revision) == (b"a", b"b", 7)
    assert list(create.filters) == [NOPUT, NODELETE]
    assert create.prev_kv and create.progress_notify and create.fragment
    assert create.watch_id == 0  # the server assigns ids


def test_nothing_is_sent_until_the_stream_is_up() -> None:
    mux = WatchMux()
    wid, actions = mux.add(spec(b"a"))
    assert actions == []
    assert mux.phase(wid) is Phase.QUEUED
    assert mux.request_progress() == []
    opened = mux.stream_opened()
    assert create_of(opened[0]).key == b"a"


def test_queue_sends_one_create_at_a_time_in_order() -> None:
    mux = up_mux()
    w0, a0 = mux.add(spec(b"a"))
    w1, a1 = mux.add(spec(b"b"))
    w2, a2 = mux.add(spec(b"c"))
    assert create_of(a0[0]).key == b"a"
    assert a1 == [] and a2 == []
    assert mux.create_in_flight
    after0 = mux.on_response(created(0, 5))
    assert [create_of(a).key for a in after0] == [b"b"]
    assert mux.phase(w0) is Phase.ACTIVE and mux.phase(w1) is Phase.QUEUED
    after1 = mux.on_response(created(1, 5))
    assert [create_of(a).key for a in after1] == [b"c"]
    assert mux.on_response(created(2, 5)) == []
    assert {mux.phase(w) for w in (w0, w1, w2)} == {Phase.ACTIVE}
    assert not mux.create_in_flight
    assert mux.live_count == 3


def test_created_goes_to_the_head_and_events_to_their_id() -> None:
    mux = up_mux()
    w0, _ = mux.add(spec(b"a"))
    w1, _ = mux.add(spec(b"b"))
    mux.on_response(created(7, 5))
    mux.on_response(created(3, 5))
    out = mux.on_response(events(3, 6)) + mux.on_response(events(7, 8))
    assert [(a.wid, a.response.watch_id) for a in out if isinstance(a, Deliver)] == [
        (w1, 3),
        (w0, 7),
    ]


def test_created_with_nothing_in_flight_is_cancelled_once() -> None:
    mux = up_mux()
    assert [cancel_of(a) for a in mux.on_response(created(4, 5))] == [4]
    assert mux.on_response(events(4, 6)) == []


def test_refused_create_ends_the_head_and_the_queue_moves_on() -> None:
    mux = up_mux()
    w0, _ = mux.add(spec(b"secret"))
    w1, _ = mux.add(spec(b"b"))
    refusal = created(0, 5, canceled=True, reason="etcdserver: permission denied")
    actions = mux.on_response(refusal)
    assert len(actions) == 2
    end = actions[0]
    assert isinstance(end, End) and end.wid == w0 and end.final is refusal
    assert isinstance(end.error, PermissionDeniedError)
    assert create_of(actions[1]).key == b"b"
    assert mux.phase(w0) is Phase.ENDED and mux.phase(w1) is Phase.QUEUED


def test_created_with_id_minus_one_is_a_refusal() -> None:
    mux = up_mux()
    w0, _ = mux.add(spec(b"a"))
    reason = "mvcc: watcher range is empty"
    (end,) = mux.on_response(created(-1, 5, canceled=True, reason=reason))
    assert isinstance(end, End) and end.wid == w0
    assert isinstance(end.error, WatchCanceledError) and end.error.details == reason


# ---- unknown ids -------------------------------------------------------------------------------


def test_unknown_id_gets_one_cancel() -> None:
    mux = up_mux()
    assert [cancel_of(a) for a in mux.on_response(events(9, 3))] == [9]
    assert mux.on_response(events(9, 4)) == []
    assert mux.on_response(progress(9, 4)) == []
    assert [cancel_of(a) for a in mux.on_response(events(8, 4))] == [8]
    # The server confirms; the id is forgotten.
    assert mux.on_response(canceled(9)) == []


# ---- close in each phase -----------------------------------------------------------------------


def test_close_queued_not_head_sends_nothing() -> None:
    mux = up_mux()
    mux.add(spec(b"a"))
    w1, _ = mux.add(spec(b"b"))
    assert mux.close(w1) == [End(w1, None, None)]
    assert [create_of(a).key for a in mux.on_response(created(0, 5))] == []
    assert mux.live_count == 1


def test_close_head_in_flight_cancels_the_id_its_created_brings() -> None:
    mux = up_mux()
    w0, _ = mux.add(spec(b"a"))
    w1, a1 = mux.add(spec(b"b"))
    assert a1 == []
    assert mux.close(w0) == [End(w0, None, None)]
    assert mux.create_in_flight  # still one outstanding: no second create yet
    actions = mux.on_response(created(0, 5))
    assert cancel_of(actions[0]) == 0
    assert create_of(actions[1]).key == b"b"
    assert mux.on_response(events(0, 6)) == []  # the orphan's events are dropped
    assert mux.on_response(canceled(0)) == []  # its cancel confirmed quietly
    mux.on_response(created(1, 6))
    assert mux.phase(w1) is Phase.ACTIVE


def test_close_head_in_flight_whose_create_is_refused() -> None:
    mux = up_mux()
    w0, _ = mux.add(spec(b"a"))
    w1, _ = mux.add(spec(b"b"))
    mux.close(w0)
    actions = mux.on_response(created(-1, 5, canceled=True, reason="x"))
    assert [create_of(a).key for a in actions] == [b"b"]
    assert mux.phase(w1) is Phase.QUEUED


def test_close_active_cancels_and_ends_at_once() -> None:
    mux = up_mux()
    wid = active(mux, spec(), 4)
    actions = mux.close(wid)
    assert cancel_of(actions[0]) == 4
    assert actions[1] == End(wid, None, None)
    assert mux.phase(wid) is Phase.ENDED and mux.live_count == 0
    assert mux.on_response(events(4, 11)) == []  # in flight before the cancel: dropped
    assert mux.on_response(canceled(4)) == []  # confirmation: absorbed, no new cancel
    assert mux.close(wid) == []  # closing twice is a no-op


def test_close_paused_sends_nothing_more() -> None:
    mux = up_mux(limit=1)
    wid = active(mux, spec(), 4)
    mux.on_response(events(4, 11))
    paused = mux.on_response(events(4, 12))
    assert cancel_of(paused[-1]) == 4
    assert mux.phase(wid) is Phase.PAUSED
    assert mux.close(wid) == [End(wid, None, None)]
    assert mux.consumed(wid, 2) == []


def test_close_unknown_wid_is_a_no_op() -> None:
    assert up_mux().close(42) == []


# ---- next revision -----------------------------------------------------------------------------


def test_next_revision_from_created_only_for_start_zero() -> None:
    mux = up_mux()
    now = active(mux, spec(b"a", 0), 0, revision=10)
    assert mux.next_revision(now) == 11
    old = active(mux, spec(b"b", 4), 1, revision=10)
    assert mux.next_revision(old) == 4


def test_next_revision_after_events_and_progress() -> None:
    mux = up_mux()
    wid = active(mux, spec(start=3), 0, revision=10)
    mux.on_response(events(0, 3, 5))
    assert mux.next_revision(wid) == 6
    out = mux.on_response(progress(0, 12))
    assert out == [Deliver(wid, progress(0, 12))]
    assert mux.next_revision(wid) == 13
    mux.on_response(progress(0, 8))  # never backwards
    assert mux.next_revision(wid) == 13


def test_next_revision_of_ended_watch_is_a_key_error() -> None:
    mux = up_mux()
    wid = active(mux, spec(), 0)
    mux.close(wid)
    with pytest.raises(KeyError):
        mux.next_revision(wid)


def test_events_in_one_revision_are_all_delivered() -> None:
    mux = up_mux()
    wid = active(mux, spec(start=2), 0)
    out = mux.on_response(events(0, 2, 4, 4))
    assert delivered_revisions(out, wid) == [2, 4, 4]
    assert mux.next_revision(wid) == 5


def test_an_old_event_is_dropped_defensively() -> None:
    mux = up_mux()
    wid = active(mux, spec(start=2), 0)
    mux.on_response(events(0, 5))
    assert mux.on_response(events(0, 5)) == []
    out = mux.on_response(events(0, 4, 5, 6))
    assert delivered_revisions(out, wid) == [6]


# ---- fragments ---------------------------------------------------------------------------------


def test_fragments_are_joined_per_watch_id() -> None:
    mux = up_mux()
    w0 = active(mux, spec(b"a", 1), 0)
    w1 = active(mux, spec(b"b", 1), 1)
    assert mux.on_response(events(0, 2, 3, fragment=True)) == []
    assert mux.on_response(events(1, 2, fragment=True)) == []
    assert mux.on_response(events(0, 4, fragment=True)) == []
    out0 = mux.on_response(events(0, 5))
    out1 = mux.on_response(events(1, 6))
    assert len(out0) == 1 and len(out1) == 1
    assert delivered_revisions(out0, w0) == [2, 3, 4, 5]
    assert delivered_revisions(out1, w1) == [2, 6]
    assert isinstance(out0[0], Deliver) and not out0[0].response.fragment
    assert mux.next_revision(w0) == 6


# ---- progress for the whole stream -------------------------------------------------------------


def test_progress_all_reaches_every_active_watch() -> None:
    mux = up_mux()
    w0 = active(mux, spec(b"a"), 0, revision=10)
    w1 = active(mux, spec(b"b"), 1, revision=10)
    w2, _ = mux.add(spec(b"c"))  # queued, create in flight: not a receiver
    note = progress(-1, 15)
    assert mux.on_response(note) == [Deliver(w0, note), Deliver(w1, note)]
    assert mux.next_revision(w0) == 16 and mux.next_revision(w1) == 16
    assert mux.phase(w2) is Phase.QUEUED


def test_progress_all_does_not_advance_a_catching_up_watch() -> None:
    mux = up_mux()
    wid = active(mux, spec(start=3), 0, revision=10)  # replaying history from 3
    note = progress(-1, 15)
    assert mux.on_response(note) == [Deliver(wid, note)]
    assert mux.next_revision(wid) == 3
    mux.on_response(progress(0, 15))  # per-watch progress: etcd says it is synced
    assert mux.next_revision(wid) == 16
    mux.on_response(progress(-1, 20))
    assert mux.next_revision(wid) == 21


def test_progress_all_advances_a_future_watch() -> None:
    mux = up_mux()
    wid = active(mux, spec(start=30), 0, revision=10)
    mux.on_response(progress(-1, 31))
    assert mux.next_revision(wid) == 32


def test_request_progress_only_when_up() -> None:
    mux = up_mux()
    (send,) = mux.request_progress()
    assert isinstance(send, Send) and send.request.HasField("progress_request")
    mux.stream_broken(RuntimeError("gone"))
    assert mux.request_progress() == []


# ---- compaction and server cancels -------------------------------------------------------------


def test_compaction_ends_the_watch_with_the_response_as_final() -> None:
    mux = up_mux()
    wid = active(mux, spec(start=2), 0)
    response = compacted(0, 7)
    (end,) = mux.on_response(response)
    assert isinstance(end, End) and end.wid == wid and end.final is response
    assert isinstance(end.error, CompactedError)
    assert mux.phase(wid) is Phase.ENDED
    # etcd dropped that watcher itself: a later stray response is an unknown id.
    assert [cancel_of(a) for a in mux.on_response(events(0, 9))] == [0]


@pytest.mark.parametrize(
    ("reason", "error_type"),
    [
        ("etcdserver: permission denied", PermissionDeniedError),
        ("something new", WatchCanceledError),
        ("", FutureRevisionError),
    ],
)
def test_server_cancel_ends_with_the_typed_error(reason: str, error_type: type[Exception]) -> None:
    mux = up_mux()
    wid = active(mux, spec(), 5)
    response = canceled(5, reason)
    (end,) = mux.on_response(response)
    assert isinstance(end, End) and end.wid == wid and end.final is response
    assert type(end.error) is error_type
    assert mux.live_count == 0


def test_cancel_for_an_unknown_id_is_ignored() -> None:
    assert up_mux().on_response(canceled(3)) == []


def test_watch_error_table() -> None:
    assert watch_error(events(0, 1)) is None
    assert watch_error(progress(-1, 1)) is None
    assert isinstance(watch_error(compacted(0, 3)), CompactedError)
    unknown = watch_error(canceled(0, "odd"))
    assert isinstance(unknown, WatchCanceledError) and str(unknown) == "odd"
    assert isinstance(watch_error(canceled(0)), FutureRevisionError)


# ---- stream breaks -----------------------------------------------------------------------------


def test_break_requeues_every_live_watch_in_creation_order_from_next_revision() -> None:
    mux = up_mux()
    w0 = active(mux, spec(b"a", 0), 0, revision=10)
    w1 = active(mux, spec(b"b", 2), 1, revision=10)
    w2, _ = mux.add(spec(b"c", 0))  # create in flight
    mux.on_response(events(1, 4))
    mux.on_response(events(0, 12, fragment=True))  # lost with the stream
    assert mux.stream_broken(ConnectionError("reset")) == []
    assert {mux.phase(w) for w in (w0, w1, w2)} == {Phase.QUEUED}
    assert not mux.create_in_flight
    opened = mux.stream_opened()
    assert [(c.key, c.start_revision) for c in map(create_of, opened)] == [(b"a", 11)]
    nxt = mux.on_response(created(0, 13))
    assert [(c.key, c.start_revision) for c in map(create_of, nxt)] == [(b"b", 5)]
    nxt = mux.on_response(created(1, 13))
    assert [(c.key, c.start_revision) for c in map(create_of, nxt)] == [(b"c", 0)]
    mux.on_response(created(2, 13))
    assert mux.next_revision(w0) == 11  # a resumed watch keeps its own next revision
    assert mux.next_revision(w2) == 14
    out = mux.on_response(events(0, 12))
    assert delivered_revisions(out, w0) == [12]


def test_resumed_watch_does_not_repeat_events_or_created() -> None:
    mux = up_mux()
    wid, _ = mux.add(spec(start=3, created_notify=True))
    first = mux.on_response(created(0, 10))
    assert first == [Deliver(wid, created(0, 10))]
    mux.on_response(events(0, 3, 6))
    mux.stream_broken(ConnectionError())
    assert create_of(mux.stream_opened()[0]).start_revision == 7
    assert mux.on_response(created(0, 12)) == []  # not announced again
    out = mux.on_response(events(0, 6, 8))  # a server replaying too much
    assert delivered_revisions(out, wid) == [8]


def test_responses_before_the_reopen_are_ignored() -> None:
    mux = up_mux()
    active(mux, spec(), 0)
    mux.stream_broken(ConnectionError())
    assert mux.on_response(events(0, 12)) == []


def test_break_forgets_cancelled_ids() -> None:
    mux = up_mux()
    mux.on_response(events(3, 2))  # unknown id cancelled once
    mux.stream_broken(ConnectionError())
    mux.stream_opened()
    assert [cancel_of(a) for a in mux.on_response(events(3, 2))] == [3]


# ---- slow consumer -----------------------------------------------------------------------------


def test_slow_consumer_is_paused_then_resumed_from_next_revision() -> None:
    mux = up_mux(limit=2)
    wid = active(mux, spec(start=1), 6)
    mux.on_response(events(6, 1))
    mux.on_response(events(6, 2))
    out = mux.on_response(events(6, 3))
    assert delivered_revisions(out, wid) == [3]
    assert cancel_of(out[-1]) == 6
    assert mux.phase(wid) is Phase.PAUSED
    assert mux.on_response(events(6, 4)) == []  # will be replayed
    assert mux.on_response(canceled(6)) == []
    assert mux.consumed(wid, 1) == []  # 2 left: above limit // 2
    resumed = mux.consumed(wid, 1)
    assert create_of(resumed[0]).start_revision == 4
    assert mux.phase(wid) is Phase.QUEUED
    mux.on_response(created(7, 9))
    assert delivered_revisions(mux.on_response(events(7, 4)), wid) == [4]


def test_a_fast_watch_is_not_held_by_a_paused_one() -> None:
    mux = up_mux(limit=1)
    slow = active(mux, spec(b"s", 1), 0)
    fast = active(mux, spec(b"f", 1), 1)
    mux.on_response(events(0, 2))
    mux.on_response(events(0, 3))
    assert mux.phase(slow) is Phase.PAUSED
    for revision in (4, 5, 6):
        assert delivered_revisions(mux.on_response(events(1, revision)), fast) == [revision]
        mux.consumed(fast, 1)
    assert mux.phase(fast) is Phase.ACTIVE


def test_paused_watch_stays_paused_across_a_break() -> None:
    mux = up_mux(limit=1)
    wid = active(mux, spec(start=1), 0)
    mux.on_response(events(0, 2))
    mux.on_response(events(0, 3))
    mux.stream_broken(ConnectionError())
    assert mux.stream_opened() == []
    assert mux.phase(wid) is Phase.PAUSED
    assert create_of(mux.consumed(wid, 2)[0]).start_revision == 4


def test_progress_all_can_pause_a_full_watch() -> None:
    mux = up_mux(limit=1)
    wid = active(mux, spec(), 0)
    mux.on_response(events(0, 11))
    out = mux.on_response(progress(-1, 12))
    assert out[0] == Deliver(wid, progress(-1, 12))
    assert cancel_of(out[1]) == 0


# ---- shutdown ----------------------------------------------------------------------------------


def test_shutdown_ends_everything_and_silences_inputs() -> None:
    mux = up_mux()
    w0 = active(mux, spec(b"a"), 0)
    w1, _ = mux.add(spec(b"b"))
    error = ConnectionError("client closed")
    assert mux.shutdown(error) == [End(w0, error, None), End(w1, error, None)]
    assert mux.live_count == 0
    assert mux.on_response(events(0, 12)) == []
    assert mux.stream_opened() == []
    assert mux.request_progress() == []
    assert mux.stream_broken(error) == []
    assert mux.shutdown(None) == []
    w2, actions = mux.add(spec(b"c"))
    assert actions == [End(w2, error, None)]
    assert mux.phase(w2) is Phase.ENDED


def test_clean_shutdown() -> None:
    mux = up_mux()
    wid = active(mux, spec(), 0)
    assert mux.shutdown(None) == [End(wid, None, None)]


def test_buffer_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="buffer_limit"):
        WatchMux(buffer_limit=0)


def test_event_overtaken_by_progress_all_is_still_delivered() -> None:
    # etcd 3.5.1 sends the -1 progress on its control channel: it can pass an event of a
    # revision it covers. The event must still reach the user (nothing is lost).
    mux = up_mux()
    wid = active(mux, spec(), 0, revision=10)
    mux.on_response(progress(-1, 12))
    assert mux.next_revision(wid) == 13
    assert delivered_revisions(mux.on_response(events(0, 12)), wid) == [12]
    assert mux.next_revision(wid) == 13


# ---- pipelined creates (create_window > 1) -------------------------------------------------


def test_window_sends_that_many_creates_and_matches_createds_in_order() -> None:
    mux = up_mux(window=2)
    w0, a0 = mux.add(spec(b"a"))
    w1, a1 = mux.add(spec(b"b"))
    w2, a2 = mux.add(spec(b"c"))
    assert [create_of(a).key for a in a0 + a1] == [b"a", b"b"]
    assert a2 == [] and mux.creates_in_flight == 2
    actions = mux.on_response(created(7, 5))  # the oldest create's answer: "a"
    assert mux.phase(w0) is Phase.ACTIVE and mux.phase(w1) is Phase.QUEUED
    assert [create_of(a).key for a in actions] == [b"c"]
    mux.on_response(created(8, 5))
    mux.on_response(created(9, 6))
    assert [mux.phase(w) for w in (w0, w1, w2)] == [Phase.ACTIVE] * 3
    assert delivered_revisions(mux.on_response(events(8, 7)), w1) == [7]
    assert mux.next_revision(w2) == 7  # "from now": its created header 6, + 1


def test_window_close_of_a_pending_watch_leaves_an_orphan_slot() -> None:
    mux = up_mux(window=2)
    w0, _ = mux.add(spec(b"a"))
    w1, _ = mux.add(spec(b"b"))
    w2, _ = mux.add(spec(b"c"))
    assert mux.close(w1) == [End(w1, None, None)]
    assert mux.creates_in_flight == 2  # the orphan still holds its slot
    actions = mux.on_response(created(0, 5))
    assert [create_of(a).key for a in actions] == [b"c"]
    actions = mux.on_response(created(1, 5))  # the orphan's id: cancelled, slot freed
    assert [cancel_of(a) for a in actions] == [1]
    mux.on_response(created(2, 5))
    assert mux.phase(w0) is Phase.ACTIVE and mux.phase(w2) is Phase.ACTIVE
    assert mux.creates_in_flight == 0


def test_window_refused_create_ends_only_its_watch() -> None:
    mux = up_mux(window=3)
    wids = [mux.add(spec(k))[0] for k in (b"a", b"b", b"c")]
    mux.on_response(created(0, 5))
    actions = mux.on_response(created(-1, 5, canceled=True, reason="etcdserver: permission denied"))
    assert len(actions) == 1 and isinstance(actions[0], End) and actions[0].wid == wids[1]
    mux.on_response(created(1, 5))
    assert [mux.phase(w) for w in wids] == [Phase.ACTIVE, Phase.ENDED, Phase.ACTIVE]


def test_window_break_requeues_pending_and_active_in_creation_order() -> None:
    mux = up_mux(window=2)
    wids = [mux.add(spec(k, start=3))[0] for k in (b"a", b"b", b"c")]
    mux.on_response(created(0, 5))
    mux.stream_broken(ConnectionError("cut"))
    actions = mux.stream_opened()
    assert [create_of(a).key for a in actions] == [b"a", b"b"]
    assert all(mux.phase(w) is Phase.QUEUED for w in wids)


def test_window_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="create_window"):
        WatchMux(create_window=0)


# ---- auth: a create refused for a token that a new one may cure --------------------------------

DENIED = "rpc error: code = PermissionDenied desc = etcdserver: permission denied"
EXPIRED = "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"


def test_watch_error_reads_the_grpc_error_text_etcd_writes_as_cancel_reason() -> None:
    denied = watch_error(created(-1, 5, canceled=True, reason=DENIED))
    assert isinstance(denied, PermissionDeniedError)
    assert denied.details == "etcdserver: permission denied"
    expired = watch_error(created(-1, 5, canceled=True, reason=EXPIRED))
    assert isinstance(expired, InvalidAuthTokenError)


@pytest.mark.parametrize("reason", [DENIED, EXPIRED])
def test_refused_for_auth_asks_for_a_new_token_once(reason: str) -> None:
    mux = WatchMux(reauth=True, create_window=2)
    mux.stream_opened()
    w0, _ = mux.add(spec(b"a", start=4))
    w1, _ = mux.add(spec(b"b", start=4))
    actions = mux.on_response(created(-1, 5, canceled=True, reason=reason))
    assert len(actions) == 1 and isinstance(actions[0], Reauth)
    assert mux.phase(w0) is Phase.QUEUED and mux.phase(w1) is Phase.QUEUED
    assert mux.on_response(created(3, 5)) == []  # the old stream's answers are ignored
    reopened = mux.stream_opened()
    assert [(create_of(a).key, create_of(a).start_revision) for a in reopened] == [
        (b"a", 4),
        (b"b", 4),
    ]
    actions = mux.on_response(created(-1, 5, canceled=True, reason=reason))
    assert len(actions) == 1 and isinstance(actions[0], End) and actions[0].wid == w0
    assert isinstance(actions[0].error, (PermissionDeniedError, InvalidAuthTokenError))
    mux.on_response(created(0, 5))
    assert mux.phase(w1) is Phase.ACTIVE


def test_a_registered_watch_may_ask_for_a_new_token_again_after_a_break() -> None:
    mux = WatchMux(reauth=True)
    mux.stream_opened()
    wid, _ = mux.add(spec(b"a", start=4))
    mux.on_response(created(-1, 5, canceled=True, reason=EXPIRED))
    mux.stream_opened()
    mux.on_response(created(0, 5))
    assert mux.phase(wid) is Phase.ACTIVE
    mux.stream_broken(ConnectionError("cut"))
    mux.stream_opened()
    actions = mux.on_response(created(-1, 9, canceled=True, reason=EXPIRED))
    assert len(actions) == 1 and isinstance(actions[0], Reauth)


def test_without_credentials_an_auth_refusal_ends_the_watch() -> None:
    mux = up_mux()
    wid, _ = mux.add(spec(b"a"))
    actions = mux.on_response(created(-1, 5, canceled=True, reason=DENIED))
    assert len(actions) == 1 and isinstance(actions[0], End)
    assert isinstance(actions[0].error, PermissionDeniedError)
    assert mux.phase(wid) is Phase.ENDED


def test_a_refusal_naming_an_active_id_registers_that_watch_again() -> None:
    # etcd 3.5.1 answers a refused create with the request's watch_id (0), and its send loop
    # then forgets the stream's own watch 0: that watch is cancelled and created again.
    mux = up_mux()
    w0, _ = mux.add(spec(b"a"))
    mux.on_response(created(0, 5))
    mux.on_response(events(0, 6))
    w1, _ = mux.add(spec(b"secret"))
    actions = mux.on_response(created(0, 6, canceled=True, reason=DENIED))
    assert len(actions) == 3
    assert cancel_of(actions[0]) == 0
    assert isinstance(actions[1], End) and actions[1].wid == w1
    assert isinstance(actions[1].error, PermissionDeniedError)
    assert (create_of(actions[2]).key, create_of(actions[2]).start_revision) == (b"a", 7)
    assert mux.phase(w0) is Phase.QUEUED
    assert mux.on_response(canceled(0)) == []  # our cancel, confirmed
    mux.on_response(created(1, 8))
    assert mux.phase(w0) is Phase.ACTIVE
    (deliver,) = mux.on_response(events(1, 7, 8))
    assert isinstance(deliver, Deliver) and deliver.wid == w0


def test_a_refusal_with_id_minus_one_leaves_the_active_watches_alone() -> None:
    mux = up_mux()
    w0, _ = mux.add(spec(b"a"))
    mux.on_response(created(0, 5))
    mux.add(spec(b"secret"))
    (end,) = mux.on_response(created(-1, 6, canceled=True, reason=DENIED))
    assert isinstance(end, End)
    assert mux.phase(w0) is Phase.ACTIVE


class _Record(MuxWatch):
    """A driver's record, as the watch drivers' buffers subclass MuxWatch."""

    __slots__ = ("delivered",)

    def __init__(self) -> None:
        super().__init__()
        self.delivered = 0


def test_a_drivers_record_is_the_watch_and_comes_back_in_its_actions() -> None:
    mux = WatchMux()
    record = _Record()
    wid, sent = mux.add(spec(b"a", 5, prev_kv=True, filter_put=True), record)
    assert record.wid == wid and mux.record(wid) is record and record.phase is Phase.QUEUED
    assert record.key == b"a" and record.prev_kv and record.filter_put and not record.fragment
    assert sent == []  # the stream was down at add()
    mux.stream_opened()
    mux.on_response(created(7, 10))
    out = mux.on_response(events(7, 6))
    assert len(out) == 1 and isinstance(out[0], Deliver) and out[0].watch is record
    cancel, end = mux.close(wid)
    assert (
        isinstance(cancel, Send) and isinstance(end, End) and end.watch is record and end.wid == wid
    )
    assert record.phase is Phase.ENDED and mux.record(wid) is None


def test_a_watch_added_after_shutdown_ends_in_its_own_record() -> None:
    mux = WatchMux()
    mux.shutdown(None)
    record = _Record()
    wid, actions = mux.add(spec(), record)
    assert actions == [End(wid, None, None)] and actions[0].watch is record  # type: ignore[union-attr]
    assert record.phase is Phase.ENDED


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"prev_kv": True},
        {"filter_put": True, "filter_delete": True},
        {"progress_notify": True, "fragment": True, "created_notify": True},
    ],
)
@pytest.mark.parametrize(("key", "range_end", "start"), [(b"k", b"", 0), (b"\0", b"\0", 7)])
def test_the_create_request_is_the_spec_at_its_next_revision(
    options: dict[str, bool], key: bytes, range_end: bytes, start: int
) -> None:
    mux = WatchMux()
    mux.stream_opened()
    _, actions = mux.add(WatchSpec(key, range_end, start, **options))
    (send,) = actions
    assert isinstance(send, Send) and send.request.WhichOneof("request_union") == "create_request"
    filters = [WatchCreateRequest.NOPUT] if options.get("filter_put") else []
    filters += [WatchCreateRequest.NODELETE] if options.get("filter_delete") else []
    assert send.request.create_request == WatchCreateRequest(
        key=key,
        range_end=range_end,
        start_revision=start,
        progress_notify=options.get("progress_notify", False),
        filters=filters,
        prev_kv=options.get("prev_kv", False),
        fragment=options.get("fragment", False),
    )


def test_the_cancel_of_server_id_0_is_a_cancel_request() -> None:
    mux = WatchMux()
    mux.stream_opened()
    wid, _ = mux.add(spec())
    mux.on_response(created(0, 10))
    cancel, _ = mux.close(wid)
    assert isinstance(cancel, Send)
    assert cancel.request.WhichOneof("request_union") == "cancel_request"
    assert cancel.request.cancel_request.watch_id == 0
