"""Lease calls with ``ctx=``/``timeout=``, grant responses as IDs, range checks, keep-alive
streams per context metadata, and each way a keep-alive ends (every backend).

Every wait is bounded: renewals are taken with ``KeepAlive.get(timeout)``, ends with
``KeepAlive.wait(timeout)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py import Client, Context, KeepAlive
from etcd3py._ints import INT64_MAX
from etcd3py.errors import (
    ArgumentTypeError,
    CanceledError,
    ClientClosedError,
    DeadlineExceededError,
    InvalidArgumentError,
    LeaseNotFoundError,
)
from etcd3py.lease import GrpcLease, LeaseGrantResponse
from tests.backends import Backend
from tests.e2e.test_lease import stream_workers, wait_worker_ended
from tests.leases import lease_gone

WAIT = 10.0  # seconds any single expected renewal or end may take
MIN_TTL = 2  # etcd's minimum TTL with its default election timeout: ceil(1.5 * 1 s)
NOWHERE = "127.0.0.1:1"  # nothing listens there: a call that sent anything would fail

pytestmark = pytest.mark.both_faces


def driver_of(client: Client) -> GrpcLease:
    """The client's lease concern (sync, or the asyncio face's through its view)."""
    return client.lease


def wait_buffered(ka: KeepAlive) -> None:
    """Wait (bounded) until a renewal is waiting in ``ka`` unconsumed."""
    target: Any = getattr(ka, "aio_target", None)
    state = ka._state if target is None else target._sink.state  # the renewals held
    deadline = time.monotonic() + WAIT
    while not state.items:
        assert time.monotonic() < deadline, f"no renewal buffered ({ka!r})"
        time.sleep(0.02)  # polling backoff


def drain_until_error(ka: KeepAlive) -> tuple[int, BaseException]:
    """Iterate ``ka`` to its end; return (responses yielded, the error raised)."""
    count = 0
    try:
        for _ in ka:
            count += 1
            assert count < 100, "the keep-alive did not end"
    except Exception as exc:  # the rule under test: the end is an exception
        return count, exc
    raise AssertionError("the iteration ended cleanly, not with an error")


@pytest.fixture
def grant(client: Client) -> Iterator[LeaseGrantResponse]:
    lease = client.grant(30)
    yield lease
    client.revoke(lease, timeout=WAIT)


# ---- arguments ----------------------------------------------------------------------------


def test_a_grant_response_is_accepted_wherever_an_id_is(client: Client) -> None:
    lease = client.grant(30)
    assert client.time_to_live(lease).id == lease.id
    assert client.keep_alive_once(lease).id == lease.id
    with client.keep_alive(lease) as ka:
        assert ka.id == lease.id
        got = ka.get(WAIT)
        assert got is not None and got.id == lease.id
    client.revoke(lease)
    assert lease_gone(client, lease)


def test_bad_ids_and_ttls_are_refused_at_the_call(new_client: Callable[..., Any]) -> None:
    # nothing listens at NOWHERE: an error other than these would mean a request was sent
    with new_client(NOWHERE, dial_timeout=None) as client:
        calls: list[Callable[[], object]] = [
            lambda: client.grant(-1),
            lambda: client.grant(INT64_MAX + 1),
            lambda: client.grant(10, id=-5),
            lambda: client.revoke(-1),
            lambda: client.revoke(INT64_MAX + 1),
            lambda: client.time_to_live(-1),
            lambda: client.keep_alive_once(-1),
            lambda: client.keep_alive(-1),
            lambda: client.keep_alive(1, timeout=-1),
        ]
        for call in calls:
            with pytest.raises(InvalidArgumentError):
                call()
        for call in (
            lambda: client.revoke(True),
            lambda: client.grant(10, ctx="ctx"),  # type: ignore[arg-type]
            lambda: client.keep_alive(1, ctx=object()),  # type: ignore[arg-type]
        ):
            with pytest.raises(ArgumentTypeError):
                call()
        assert driver_of(client).driver.streams() == []


def test_a_ttl_below_the_minimum_is_raised(client: Client) -> None:
    lease = client.grant(1)
    try:
        assert lease.ttl == MIN_TTL
        assert client.time_to_live(lease).granted_ttl == MIN_TTL
    finally:
        client.revoke(lease)


# ---- ctx= on every call --------------------------------------------------------------------


def test_every_call_takes_ctx_and_timeout(client: Client) -> None:
    ctx = Context.background().with_require_leader().with_timeout(WAIT)
    lease = client.grant(30, timeout=WAIT, ctx=ctx)
    assert lease.id in client.leases(timeout=WAIT, ctx=ctx).leases
    assert client.time_to_live(lease, keys=True, timeout=WAIT, ctx=ctx).granted_ttl == 30
    assert client.keep_alive_once(lease, timeout=WAIT, ctx=ctx).ttl == 30
    with client.keep_alive(lease, timeout=WAIT, ctx=ctx) as ka:
        assert ka.get(WAIT) is not None
    client.revoke(lease, timeout=WAIT, ctx=ctx)
    ctx.cancel()


def test_a_cancelled_ctx_fails_every_call(client: Client, grant: LeaseGrantResponse) -> None:
    ctx = Context.background().with_cancel()
    ctx.cancel()
    for call in (
        lambda: client.grant(30, ctx=ctx),
        lambda: client.revoke(grant, ctx=ctx),
        lambda: client.time_to_live(grant, ctx=ctx),
        lambda: client.leases(ctx=ctx),
        lambda: client.keep_alive_once(grant, ctx=ctx),
        lambda: next(client.keep_alive(grant, ctx=ctx)),
    ):
        with pytest.raises(CanceledError):
            call()
    assert client.time_to_live(grant).ttl > 0  # the revoke was not sent


def test_ctx_cancel_aborts_a_call_in_flight(backend: Backend, client: Client) -> None:
    if backend.server is None:
        pytest.skip("needs the reference server's response delay (see the fault tests)")
    lease = client.grant(30)
    backend.server.set_delay(30.0)
    try:
        for call in (
            lambda ctx: client.time_to_live(lease, ctx=ctx),
            lambda ctx: client.grant(30, ctx=ctx),
            lambda ctx: client.leases(ctx=ctx),
            lambda ctx: client.revoke(lease, ctx=ctx),
        ):
            ctx = Context.background().with_cancel()
            timer = threading.Timer(0.2, ctx.cancel)
            timer.start()
            with pytest.raises(CanceledError):
                call(ctx)  # without the cancel: 30 s of delay, then the answer
            timer.join()
    finally:
        backend.server.set_delay(0.0)
    client.revoke(lease)


# ---- streams per metadata ------------------------------------------------------------------


def test_keep_alives_share_a_stream_per_metadata(
    backend: Backend, new_client: Callable[..., Any]
) -> None:
    with new_client(endpoints=backend.endpoints) as client:
        leases = [client.grant(30) for _ in range(4)]
        leader = Context.background().with_require_leader()
        kas = [
            client.keep_alive(leases[0]),
            client.keep_alive(leases[1], ctx=Context.background().with_cancel()),
            client.keep_alive(leases[2], ctx=leader),
            client.keep_alive(leases[3], ctx=leader.with_cancel()),
        ]
        for ka in kas:
            assert ka.get(WAIT) is not None, ka.err()
        driver = driver_of(client).driver
        assert sorted(driver.streams()) == [(), (("hasleader", "true"),)]
        workers = stream_workers(client)
        assert len(workers) == 2  # a thread (sync) or task (aio) per stream
        for ka in kas:
            ka.close()
        for worker in workers:
            assert wait_worker_ended(worker)
        assert driver.streams() == [] and driver.kept_alive() == []
        for lease in leases:
            client.revoke(lease)


def test_cancelling_one_ctx_ends_that_keep_alive_alone(client: Client) -> None:
    leases = [client.grant(MIN_TTL) for _ in range(2)]
    ctx = Context.background().with_cancel()
    doomed = client.keep_alive(leases[0], ctx=ctx)
    same_lease = client.keep_alive(leases[0])
    other = client.keep_alive(leases[1], ctx=Context.background().with_cancel())
    assert driver_of(client).driver.streams() == [()]  # one stream for all three
    wait_buffered(doomed)
    ctx.cancel()
    count, error = drain_until_error(doomed)
    assert count >= 1 and isinstance(error, CanceledError)  # its last response, then why
    assert isinstance(doomed.err(), CanceledError)
    for ka in (same_lease, other):  # the others go on past a TTL
        for _ in range(4):
            assert ka.get(WAIT) is not None, ka.err()
        ka.close()
    for lease in leases:
        client.revoke(lease)


# ---- how a keep-alive ends -----------------------------------------------------------------


def test_timeout_ends_a_keep_alive_with_deadline_exceeded(client: Client) -> None:
    lease = client.grant(MIN_TTL)
    ka = client.keep_alive(lease, timeout=1.5)
    assert ka.wait(WAIT)
    count, error = drain_until_error(ka)
    assert count >= 1 and isinstance(error, DeadlineExceededError)
    assert client.time_to_live(lease).ttl > 0  # renewed until then
    client.revoke(lease)


def test_client_close_yields_the_last_response_then_raises(
    backend: Backend, new_client: Callable[..., Any]
) -> None:
    client = new_client(endpoints=backend.endpoints)
    lease = client.grant(30)
    ka = client.keep_alive(lease)
    wait_buffered(ka)
    client.close()
    count, error = drain_until_error(ka)
    assert count >= 1 and isinstance(error, ClientClosedError)
    with new_client(endpoints=backend.endpoints) as cleanup:
        cleanup.revoke(lease)


def test_revoke_yields_the_last_response_then_raises(client: Client) -> None:
    lease = client.grant(MIN_TTL)
    ka = client.keep_alive(lease)
    wait_buffered(ka)
    client.revoke(lease)
    assert ka.wait(WAIT)
    count, error = drain_until_error(ka)
    assert count >= 1 and isinstance(error, LeaseNotFoundError)


def test_own_close_ends_cleanly_after_an_error_too(client: Client) -> None:
    lease = client.grant(MIN_TTL)
    ctx = Context.background().with_cancel()
    with client.keep_alive(lease, ctx=ctx) as ka:
        assert ka.get(WAIT) is not None
    assert list(ka) == [] and ka.err() is None
    ended = client.keep_alive(lease, ctx=ctx)
    ctx.cancel()
    assert ended.wait(WAIT)
    ended.close()
    assert list(ended) == []  # the owner's close() ends the iteration cleanly
    client.revoke(lease)
