"""The keep-alive schedule alone (renew at a third of the TTL, deadlines, shared leases),
and a KeepAlive's endings driven by hand (the error rule, close, ctx), with no server."""

from __future__ import annotations

from typing import cast

import pytest

from etcd3py import Context, _pb
from etcd3py._keepalive import RESEND, KeepAliveDriver, KeepAliveSchedule, StreamKey
from etcd3py._reconnect import backoff
from etcd3py._streams import RequestQueue
from etcd3py.errors import (
    CanceledError,
    ClientClosedError,
    EtcdError,
    LeaseExpiredError,
    LeaseNotFoundError,
    NoLeaderError,
)
from etcd3py.lease import KeepAlive

FIRST = 5.0


@pytest.fixture
def sched() -> KeepAliveSchedule[str]:
    return KeepAliveSchedule(FIRST)


def test_new_lease_is_sent_at_once_then_resent_until_answered(
    sched: KeepAliveSchedule[str],
) -> None:
    assert sched.add(1, "a", now=0.0) is True
    assert sched.due(0.0) == []  # the add counts as the first send
    assert sched.due(RESEND - 0.01) == []
    assert sched.due(RESEND) == [1]  # no answer: sent again
    assert sched.due(RESEND + 0.1) == []
    assert sched.due(2 * RESEND) == [1]


def test_response_schedules_a_third_of_the_ttl(sched: KeepAliveSchedule[str]) -> None:
    sched.add(7, "a", now=0.0)
    subs, gone = sched.on_response(7, 9, now=1.0)
    assert (subs, gone) == (["a"], False)
    assert sched.due(3.99) == []
    assert sched.due(4.0) == [7]  # 1.0 + 9 / 3


def test_second_caller_shares_the_entry(sched: KeepAliveSchedule[str]) -> None:
    assert sched.add(1, "a", now=0.0) is True
    assert sched.add(1, "b", now=0.1) is False  # no extra send: one entry per lease
    assert sched.subscribers(1) == ["a", "b"]
    assert len(sched) == 1
    assert sched.on_response(1, 6, now=0.2) == (["a", "b"], False)
    assert sched.remove(1, "a") is True
    assert 1 in sched  # "b" still keeps it alive
    assert sched.on_response(1, 6, now=2.3) == (["b"], False)
    assert sched.remove(1, "b") is True
    assert 1 not in sched
    assert sched.remove(1, "b") is False


def test_ttl_zero_means_gone(sched: KeepAliveSchedule[str]) -> None:
    sched.add(3, "a", now=0.0)
    sched.add(3, "b", now=0.0)
    assert sched.on_response(3, 0, now=0.5) == ([], False)  # never renewed: asked again
    assert sched.on_response(3, 0, now=1.0) == (["a", "b"], True)
    assert 3 not in sched
    assert sched.on_response(3, 5, now=0.6) == ([], False)  # a late answer is ignored


def test_first_response_deadline(sched: KeepAliveSchedule[str]) -> None:
    sched.add(1, "a", now=10.0)
    assert sched.expire(10.0 + FIRST - 0.01) == []
    assert sched.expire(10.0 + FIRST) == [(1, ["a"])]
    assert len(sched) == 0


def test_deadline_moves_with_each_renewal(sched: KeepAliveSchedule[str]) -> None:
    sched.add(1, "a", now=0.0)
    sched.on_response(1, 3, now=1.0)
    assert sched.expire(3.9) == []
    sched.on_response(1, 3, now=3.5)
    assert sched.expire(6.4) == []
    assert sched.expire(6.5) == [(1, ["a"])]


def test_stream_opened_renews_everything_at_once(sched: KeepAliveSchedule[str]) -> None:
    for lid in (1, 2, 3):
        sched.add(lid, f"s{lid}", now=0.0)
        sched.on_response(lid, 30, now=0.0)  # next renewals 10 s away
    assert sched.due(1.0) == []
    assert sorted(sched.stream_opened(1.0)) == [1, 2, 3]
    assert sched.due(1.0) == []  # counted as sent
    assert sorted(sched.due(1.0 + RESEND)) == [1, 2, 3]


def test_clear_returns_every_subscriber(sched: KeepAliveSchedule[str]) -> None:
    sched.add(1, "a", now=0.0)
    sched.add(1, "b", now=0.0)
    sched.add(2, "c", now=0.0)
    assert sorted(sched.clear()) == ["a", "b", "c"]
    assert len(sched) == 0


def test_many_leases_each_on_its_own_schedule(sched: KeepAliveSchedule[int]) -> None:
    for lid in range(1, 51):
        sched.add(lid, lid, now=0.0)
        sched.on_response(lid, lid * 3, now=0.0)  # renew lid seconds from now
    assert sched.due(10.0) == list(range(1, 11))


def test_request_queue_tick_sends_and_end_stops() -> None:
    ticks: list[int] = []

    def tick() -> list[str]:
        ticks.append(1)
        return ["due"] if len(ticks) == 1 else []

    requests: RequestQueue[str] = RequestQueue(poll=0.01, tick=tick)
    requests.put("queued")
    it = iter(requests)
    assert next(it) == "due"
    assert next(it) == "queued"
    requests.end()
    assert list(it) == []
    assert requests.ended


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff(n) for n in range(1, 12)]
    assert all(0 < w <= 1.0 for w in waits)
    assert waits[0] <= 0.15  # 50 ms plus at most 100 ms of jitter
    assert waits[-1] == 1.0


def test_unanswered_renewal_means_a_stalled_stream(sched: KeepAliveSchedule[str]) -> None:
    sched.add(1, "a", now=0.0)
    sched.on_response(1, 6, now=0.0)  # renew at 2.0; stalled if unanswered for 2 s
    assert sched.due(2.0) == [1]
    assert not sched.stalled(3.9)
    assert sched.due(2.5) == [1]  # a resend does not restart the stall clock
    assert sched.stalled(4.0)
    sched.on_response(1, 6, now=4.1)
    assert not sched.stalled(10.0)


def test_new_stream_restarts_the_stall_clock(sched: KeepAliveSchedule[str]) -> None:
    sched.add(1, "a", now=0.0)
    assert sched.stalled(FIRST / 3 + 0.01)
    sched.stream_opened(5.0)
    assert not sched.stalled(5.0 + FIRST / 3 - 0.01)


# ---- KeepAlive's error rule, driven by hand (no server) ----------------------------------


class FakeDriver:
    """Records subscriptions as the real driver would hold them."""

    def __init__(self) -> None:
        self.subs: dict[tuple[StreamKey, int], list[KeepAlive]] = {}

    def subscribe(self, key: StreamKey, lease_id: int, sub: KeepAlive) -> None:
        self.subs.setdefault((key, lease_id), []).append(sub)

    def unsubscribe(
        self, key: StreamKey, lease_id: int, sub: KeepAlive, error: BaseException | None
    ) -> None:
        subs = self.subs.get((key, lease_id), [])
        if sub in subs:
            subs.remove(sub)
            sub.finish(error)


def renewal(lease_id: int, ttl: int = 10) -> _pb.rpc.LeaseKeepAliveResponse:
    return _pb.rpc.LeaseKeepAliveResponse(ID=lease_id, TTL=ttl)


def new_keep_alive(driver: FakeDriver, lease_id: int = 7) -> KeepAlive:
    ka = KeepAlive(lease_id, cast(KeepAliveDriver, driver))
    driver.subscribe((), lease_id, ka)
    return ka


@pytest.mark.parametrize(
    "error",
    [
        LeaseNotFoundError("etcdserver: requested lease not found"),
        LeaseExpiredError("etcd3py: lease 7 was not renewed before its TTL ran out"),
        ClientClosedError("etcd3py: the client is closed"),
        NoLeaderError("etcdserver: no leader"),
        CanceledError("context canceled"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_ended_keep_alive_yields_its_last_response_then_raises(error: EtcdError) -> None:
    ka = new_keep_alive(FakeDriver())
    ka.push(renewal(7, ttl=9))
    ka.finish(error)
    assert ka.done and ka.err() is error
    assert next(ka).ttl == 9  # the last response still comes
    with pytest.raises(type(error)):
        next(ka)
    with pytest.raises(type(error)):  # and stays raised
        ka.get(0)


def test_own_close_ends_the_iteration_cleanly_even_after_an_error() -> None:
    driver = FakeDriver()
    ka = new_keep_alive(driver)
    ka.push(renewal(7))
    ka.close()
    assert driver.subs[((), 7)] == []
    assert list(ka) == [] and ka.err() is None and ka.done
    failed = new_keep_alive(driver, 8)
    failed.finish(LeaseNotFoundError("etcdserver: requested lease not found"))
    failed.close()
    assert list(failed) == []  # the owner's close() wins over the error for iteration
    assert isinstance(failed.err(), LeaseNotFoundError)  # but the reason is kept


def test_keep_alive_is_a_context_manager() -> None:
    driver = FakeDriver()
    with new_keep_alive(driver) as ka:
        assert not ka.done
    assert ka.done and ka.err() is None and driver.subs[((), 7)] == []


def test_ctx_cancel_ends_the_keep_alive_alone_and_drops_its_callback() -> None:
    driver = FakeDriver()
    ctx = Context.background().with_cancel()
    mine, other = new_keep_alive(driver, 7), new_keep_alive(driver, 7)
    mine.follow(ctx)
    mine.push(renewal(7, ttl=5))
    ctx.cancel()
    assert next(mine).ttl == 5
    with pytest.raises(CanceledError):
        next(mine)
    assert driver.subs[((), 7)] == [other] and not other.done
    other.close()


def test_an_owned_deadline_ctx_is_cancelled_when_the_keep_alive_ends() -> None:
    parent = Context.background().with_cancel()
    scope = parent.with_timeout(3600)
    ka = new_keep_alive(FakeDriver())
    ka.follow(scope, owned=True)
    ka.close()
    assert scope.done  # its deadline timer entry is gone with it
    assert isinstance(scope.err(), CanceledError)
    assert not parent.done
    assert parent._callbacks == []  # the child left its parent: nothing piles up


def test_following_an_ended_keep_alive_registers_nothing() -> None:
    ctx = Context.background().with_cancel()
    ka = new_keep_alive(FakeDriver())
    ka.finish(LeaseNotFoundError("etcdserver: requested lease not found"))
    ka.follow(ctx)
    assert ctx._callbacks == []


def test_done_callbacks_run_once_off_the_driver_thread_when_a_keep_alive_ends() -> None:
    import threading

    from etcd3py.errors import LeaseNotFoundError
    from etcd3py.lease import KeepAlive

    class _Driver:
        def unsubscribe(self, *args: object) -> None:
            pass

    ka = KeepAlive(7, _Driver())  # type: ignore[arg-type]
    ran: list[str] = []
    done = threading.Event()

    def callback() -> None:
        ran.append(threading.current_thread().name)
        done.set()

    unregister_me = ka.add_done_callback(lambda: ran.append("unregistered"))
    ka.add_done_callback(callback)
    unregister_me()
    ka.finish(LeaseNotFoundError())
    assert done.wait(5.0)
    assert ran == ["etcd3py-keepalive-done"]
    assert isinstance(ka.err(), LeaseNotFoundError)
    # added after the end: runs at once, on the caller's thread
    late: list[str] = []
    ka.add_done_callback(lambda: late.append(threading.current_thread().name))
    assert late == [threading.current_thread().name]
