"""The keep-alive streams' shared rules alone (both faces' drivers run them), with no server:
a stream's events (:class:`StreamState`), a driver's streams (:class:`KeepAliveStreams`),
and a caller's renewals and end (:class:`Renewals`), on a hand-driven clock."""

from __future__ import annotations

import pytest

from etcd3py import Context, _pb
from etcd3py._keepalive_renewals import Renewals, add_done_callback, follow
from etcd3py._keepalive_schedule import RESEND, KeepAliveSchedule
from etcd3py._keepalive_state import (
    KeepAliveStreams,
    StreamKey,
    StreamState,
)
from etcd3py.errors import ClientClosedError, LeaseExpiredError, LeaseNotFoundError

FIRST = 5.0


class Sub:
    """A keep-alive caller as the driver sees it."""

    def __init__(self) -> None:
        self.got: list[int] = []
        self.ended: list[BaseException | None] = []

    def push(self, response: _pb.rpc.LeaseKeepAliveResponse) -> None:
        self.got.append(response.TTL)

    def finish(self, error: BaseException | None) -> None:
        self.ended.append(error)


class Queue:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.ended = False

    def put(self, request: _pb.rpc.LeaseKeepAliveRequest) -> None:
        self.sent.append(request.ID)

    def end(self) -> None:
        self.ended = True


class Call:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> bool:
        self.cancelled = True
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def answer(lease_id: int, ttl: int) -> _pb.rpc.LeaseKeepAliveResponse:
    return _pb.rpc.LeaseKeepAliveResponse(ID=lease_id, TTL=ttl)


def test_a_stream_still_answering_others_is_not_stalled() -> None:
    sched: KeepAliveSchedule[str] = KeepAliveSchedule(FIRST)
    sched.add(1, "a", now=0.0)
    sched.add(2, "b", now=0.0)
    assert sorted(sched.stream_opened(0.0)) == [1, 2]  # a burst: both wait from 0
    sched.on_response(1, 6, now=1.5)  # the stream answers 1; 2's answer is still coming
    assert not sched.stalled(2.0)  # 2 waited past FIRST / 3, but the stream is alive
    assert sched.stalled(1.5 + FIRST / 3)  # silent that long since its last answer


def test_a_gone_lease_is_doubted_once_only_before_its_first_renewal() -> None:
    # etcd < 3.5.3 may renew on a leader that has not applied the grant yet (etcd #13675)
    sched: KeepAliveSchedule[str] = KeepAliveSchedule(FIRST)
    sched.add(1, "new", now=0.0)
    sched.add(2, "kept", now=0.0)
    sched.stream_opened(0.0)
    assert sched.on_response(1, 0, now=0.1) == ([], False)  # doubted: asked again
    assert 1 in sched and 1 in sched.due(0.1 + RESEND)
    assert sched.on_response(1, 30, now=0.7) == (["new"], False)  # it was there after all
    assert sched.on_response(2, 30, now=0.1) == (["kept"], False)
    assert sched.on_response(2, 0, now=5.0) == (["kept"], True)  # renewed before: believed
    assert sched.on_response(1, 0, now=9.0) == (["new"], True)
    assert 1 not in sched and 2 not in sched


def test_stream_events() -> None:
    woken: list[bool] = []
    stream = StreamState((), FIRST, lambda: woken.append(True))
    a, b = Sub(), Sub()
    stream.add(1, a, now=0.0)  # no call yet: nothing sent
    call, queue = Call(), Queue()
    stream.opened(call, queue, now=0.1)
    assert queue.sent == [1] and stream.open
    stream.add(2, b, now=0.2)  # the call is up: sent at once
    assert queue.sent == [1, 2]
    stream.deliver(answer(1, 9), now=0.3)
    stream.deliver(answer(2, 0), now=0.3)  # gone, before any renewal of it: asked again
    assert a.got == [9] and not b.ended and not b.got
    assert stream.tick(0.3 + RESEND) == [_pb.rpc.LeaseKeepAliveRequest(ID=2)]
    stream.deliver(answer(2, 0), now=0.3)  # gone again: it is
    assert b.ended and isinstance(b.ended[0], LeaseNotFoundError)
    assert stream.tick(0.3 + 3.0) == [_pb.rpc.LeaseKeepAliveRequest(ID=1)]  # a third of 9
    assert not call.cancelled
    assert stream.tick(0.3 + 3.0 + 3.0) == []  # unanswered for 3 s: the call is hung
    assert call.cancelled
    stream.call_ended()
    assert not stream.open and stream.call is None
    stream.expire(0.3 + 9.0)
    assert isinstance(a.ended[0], LeaseExpiredError) and stream.idle
    stream.stop()
    assert stream.stopped and woken == [True]


def test_streams_by_key_start_once_and_leave_when_idle() -> None:
    started: list[StreamKey] = []
    clock = Clock()
    table: KeepAliveStreams[StreamState] = KeepAliveStreams(
        lambda key: StreamState(key, FIRST, lambda: None),
        lambda stream: started.append(stream.key),
        clock,
    )
    leader: StreamKey = (("hasleader", "true"),)
    a, b, c = Sub(), Sub(), Sub()
    table.subscribe((), 1, a)
    table.subscribe((), 1, b)
    table.subscribe(leader, 1, c)
    assert started == [(), leader] and table.kept_alive() == [1]
    table.unsubscribe((), 1, a, None)
    assert a.ended == [None] and () in table.streams
    stream = table.streams[()]
    table.unsubscribe((), 1, b, None)
    assert () not in table.streams and stream.stopped  # idle: gone
    assert [s.key for s in table.close()] == [leader]
    assert isinstance(c.ended[0], ClientClosedError)
    with pytest.raises(ClientClosedError):
        table.subscribe((), 2, Sub())


def test_the_backoff_wait_ends_leases_past_their_deadline() -> None:
    clock = Clock()
    table: KeepAliveStreams[StreamState] = KeepAliveStreams(
        lambda key: StreamState(key, FIRST, lambda: None), lambda stream: None, clock
    )
    sub = Sub()
    table.subscribe((), 1, sub)
    stream = table.streams[()]
    pauses = table.backoff(stream, 10.0, 0.25)
    assert next(pauses) == 0.25
    clock.now = FIRST  # the first renewal never came
    assert next(pauses, None) is None  # the stream is idle now: no need to reconnect
    assert isinstance(sub.ended[0], LeaseExpiredError) and stream.stopped
    assert table.streams == {}


def test_renewals_error_rule_and_end() -> None:
    state = Renewals()
    state.push(answer(1, 5))
    ran: list[int] = []
    add_done_callback(state, lambda: ran.append(1))
    ctx = Context.background().with_cancel()
    follow(state, ctx, True, lambda: None)
    ended = state.finish(LeaseNotFoundError("etcdserver: requested lease not found"))
    assert ended is not None and state.finish(None) is None  # the first end counts
    ended.detach()
    assert ctx.done  # a context made for it is cancelled with its end
    assert [cb() for cb in ended.callbacks] == [None] and ran == [1]
    ready, response = state.take()
    assert ready and response is not None and response.ttl == 5  # the last one still comes
    with pytest.raises(LeaseNotFoundError):
        state.take()
    state.close()
    assert state.take() == (True, None)  # the owner's close ends the iteration cleanly
    closed_first = Renewals()
    closed_first.close()
    closed_first.finish(ClientClosedError())
    assert closed_first.err is None
