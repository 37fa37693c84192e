"""Kept-alive leases survive broken streams; one that cannot be renewed in time says so.

The keep-alive client dials through a :class:`~testserver.bridge.Bridge` (or the reference
server drops its streams and restarts, or a private etcd is SIGKILLed and restarted on the
same data dir and ports); another client checks the lease and its key directly. Every wait
is bounded; time passes only while renewals come in or while waiting for a keep-alive's end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from etcd3py import Client, Context, KeepAlive, _pb, _stubs
from etcd3py.errors import CanceledError, LeaseExpiredError, LeaseNotFoundError
from tests.backends import Backend, EtcdProcess, EtcdTools, free_ports
from testserver.bridge import Bridge

pytestmark = [pytest.mark.faults, pytest.mark.both_faces]

WAIT = 15.0  # seconds any single renewal may take, reconnects included


def renewals(ka: KeepAlive, count: int) -> None:
    """Take ``count`` renewals, each within WAIT (a reconnect may delay one)."""
    for _ in range(count):
        assert ka.get(WAIT) is not None, f"no renewal (done={ka.done}, {ka.err()!r})"


def assert_alive(checker: Client, lease_id: int, key: str, ttl: int) -> None:
    left = checker.time_to_live(lease_id, keys=True)
    assert 0 < left.ttl <= ttl, left
    assert left.keys == [key.encode()]
    assert checker.get(key).count == 1


# The slowest outage tests double the module's time on a second face; the asyncio face runs
# them on this one backend (the sync face on every one), as the suite's time budget asks.
AIO_SLOW_BACKEND = "etcd35"


@pytest.fixture
def aio_on_one_backend(face: str, backend: Backend) -> None:
    """Run the asyncio face of a slow outage test on :data:`AIO_SLOW_BACKEND` only."""
    if face == "aio" and backend.name != AIO_SLOW_BACKEND:
        pytest.skip(f"slow outage test: its asyncio run is on {AIO_SLOW_BACKEND} only")


@pytest.fixture
def bridge(backend: Backend) -> Iterator[Bridge]:
    with Bridge(backend.endpoints[0]) as b:
        yield b


@pytest.mark.usefixtures("aio_on_one_backend")
def test_keep_alive_across_bridge_cuts(
    client: Client, bridge: Bridge, prefix: str, new_client: Callable[..., Any]
) -> None:
    ttl = 3
    lid = client.grant(ttl).id
    client.put(prefix + "k", "v", lease=lid)
    with new_client(endpoints=[bridge.endpoint]) as keeper, keeper.keep_alive(lid) as ka:
        renewals(ka, 1)
        for _ in range(4):
            assert bridge.cut() >= 1
            renewals(ka, 4)  # > one TTL of renewals on the new stream
        assert_alive(client, lid, prefix + "k", ttl)
        assert not ka.done
    assert bridge.accepted >= 5  # the keeper came back after each cut
    client.revoke(lid)


@pytest.mark.usefixtures("aio_on_one_backend")
def test_keep_alive_across_a_short_outage(
    client: Client, bridge: Bridge, prefix: str, new_client: Callable[..., Any]
) -> None:
    ttl = 5
    lid = client.grant(ttl).id
    client.put(prefix + "k", "v", lease=lid)
    with new_client(endpoints=[bridge.endpoint]) as keeper, keeper.keep_alive(lid) as ka:
        renewals(ka, 1)
        with bridge.outage():
            assert not ka.wait(2.0)  # shorter than the TTL: nothing ends
        renewals(ka, 3)
        assert_alive(client, lid, prefix + "k", ttl)
    client.revoke(lid)


def test_outage_longer_than_the_ttl_ends_with_lease_expired(
    client: Client, bridge: Bridge, new_client: Callable[..., Any]
) -> None:
    ttl = 2
    lid = client.grant(ttl).id
    with new_client(endpoints=[bridge.endpoint]) as keeper:
        ka = keeper.keep_alive(lid)
        renewals(ka, 1)
        with bridge.outage():
            assert ka.wait(WAIT)  # the deadline check ends it while the stream is down
        assert isinstance(ka.err(), LeaseExpiredError)
        with pytest.raises(LeaseExpiredError):
            for _ in range(100):  # renewals taken before the outage come first
                next(ka)
    with pytest.raises(LeaseNotFoundError):
        client.keep_alive_once(lid)  # the server let it expire too (or it is about to)


@pytest.mark.testserver_only
def test_keep_alive_across_dropped_streams_and_restart(
    client: Client, backend: Backend, prefix: str, new_client: Callable[..., Any]
) -> None:
    srv = backend.server
    assert srv is not None
    ttl = 3
    lid = client.grant(ttl).id
    client.put(prefix + "k", "v", lease=lid)
    with new_client(endpoints=backend.endpoints) as keeper, keeper.keep_alive(lid) as ka:
        renewals(ka, 1)
        for fault in (srv.drop_streams, srv.restart, srv.drop_streams, srv.restart):
            fault()
            renewals(ka, 4)
        assert_alive(client, lid, prefix + "k", ttl)
        assert not ka.done
    client.revoke(lid)


def test_keep_alive_across_etcd_killed(
    etcd_tools: EtcdTools, new_client: Callable[..., Any]
) -> None:
    """A private etcd is SIGKILLed and restarted (same data dir and ports) twice."""
    cport, pport = free_ports(2)
    member = EtcdProcess(etcd_tools.etcd, client_port=cport, peer_port=pport)
    ttl = 5
    try:
        member.start()
        member.wait_serving()
        with new_client(endpoints=[member.endpoint]) as client:
            lid = client.grant(ttl).id
            client.put("/kill/k", "v", lease=lid)
            with client.keep_alive(lid) as ka:
                renewals(ka, 1)
                for _ in range(2):
                    member.kill()
                    member.start()
                    member.wait_serving()
                    renewals(ka, 4)
                assert_alive(client, lid, "/kill/k", ttl)
                assert not ka.done
    finally:
        member.remove()


class GoesSilent(_stubs.rpc_grpc.LeaseServicer):
    """A Lease service whose first keep-alive stream answers twice, then stays open, mute.

    As a half-open connection or a hung server would: no error ever reaches the client.
    """

    TTL = 3

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def LeaseKeepAlive(
        self, request_iterator: Iterator[_pb.rpc.LeaseKeepAliveRequest], context: object
    ) -> Iterator[_pb.rpc.LeaseKeepAliveResponse]:
        with self._lock:
            self.calls += 1
            mute = self.calls == 1
        answered = 0
        for request in request_iterator:
            if mute and answered >= 2:
                continue  # read, never answer
            answered += 1
            yield _pb.rpc.LeaseKeepAliveResponse(ID=request.ID, TTL=self.TTL)


def test_a_silent_stream_is_reopened_before_the_lease_is_lost(
    new_client: Callable[..., Any],
) -> None:
    servicer = GoesSilent()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    _stubs.rpc_grpc.add_LeaseServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with new_client(endpoints=[f"127.0.0.1:{port}"]) as client, client.keep_alive(7) as ka:
            renewals(ka, 6)  # 2 on the mute stream, then more on a new one
            assert servicer.calls >= 2
            assert not ka.done
    finally:
        server.stop(0).wait(WAIT)


# Far longer than the 0.3 s until the cancel, yet short enough that a cancel missed fails
# the test with DeadlineExceededError (which says so) before pytest-timeout has to stop it.
CALL_TIMEOUT = 20.0


def cancel_soon(ctx: Context) -> threading.Timer:
    timer = threading.Timer(0.3, ctx.cancel)
    timer.start()
    return timer


def test_ctx_cancel_aborts_retried_calls_held_up_by_an_outage(
    client: Client, bridge: Bridge, new_client: Callable[..., Any]
) -> None:
    lease = client.grant(30)
    with new_client(endpoints=[bridge.endpoint]) as cut_off:
        # A read first: retried whatever its failure, it makes gRPC see the cut connection.
        # A mutating call sent on that connection before gRPC saw it close fails "Stream
        # removed" and is rightly not retried (it may have been sent); once the connection
        # is known down, none is sent, so the mutating calls are retried too.
        calls: list[Callable[[Context], object]] = [
            lambda ctx: cut_off.time_to_live(lease, ctx=ctx, timeout=CALL_TIMEOUT),
            lambda ctx: cut_off.revoke(lease, ctx=ctx, timeout=CALL_TIMEOUT),
            lambda ctx: cut_off.grant(30, ctx=ctx, timeout=CALL_TIMEOUT),
            lambda ctx: cut_off.leases(ctx=ctx, timeout=CALL_TIMEOUT),
            lambda ctx: cut_off.keep_alive_once(lease, ctx=ctx, timeout=CALL_TIMEOUT),
        ]
        with bridge.outage():
            for call in calls:
                ctx = Context.background().with_cancel()
                timer = cancel_soon(ctx)
                with pytest.raises(CanceledError):
                    call(ctx)  # retried until CALL_TIMEOUT, but for the cancel
                timer.join()
    assert client.time_to_live(lease).ttl > 0  # the revoke never got through
    client.revoke(lease)


class Mute(_stubs.rpc_grpc.LeaseServicer):
    """A Lease service that takes every request and never answers: a hung server.

    Each handler returns once the client gives up on its call (cancel or deadline).
    """

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def _hang(self, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.calls += 1
        while context.is_active():
            time.sleep(0.02)  # polling: the handler ends with its call

    def LeaseGrant(self, request: object, context: grpc.ServicerContext) -> object:
        self._hang(context)
        return _pb.rpc.LeaseGrantResponse()

    def LeaseRevoke(self, request: object, context: grpc.ServicerContext) -> object:
        self._hang(context)
        return _pb.rpc.LeaseRevokeResponse()

    def LeaseTimeToLive(self, request: object, context: grpc.ServicerContext) -> object:
        self._hang(context)
        return _pb.rpc.LeaseTimeToLiveResponse()

    def LeaseLeases(self, request: object, context: grpc.ServicerContext) -> object:
        self._hang(context)
        return _pb.rpc.LeaseLeasesResponse()

    def LeaseKeepAlive(
        self, request_iterator: Iterator[_pb.rpc.LeaseKeepAliveRequest], context: object
    ) -> Iterator[_pb.rpc.LeaseKeepAliveResponse]:
        with self._lock:
            self.calls += 1
        for _request in request_iterator:
            pass
        yield from ()


def test_ctx_cancel_aborts_every_lease_call_in_flight(new_client: Callable[..., Any]) -> None:
    mute = Mute()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    _stubs.rpc_grpc.add_LeaseServicer_to_server(mute, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with new_client(endpoints=[f"127.0.0.1:{port}"]) as client:
            calls: list[Callable[[Context], object]] = [
                lambda ctx: client.grant(30, ctx=ctx, timeout=CALL_TIMEOUT),
                lambda ctx: client.revoke(7, ctx=ctx, timeout=CALL_TIMEOUT),
                lambda ctx: client.time_to_live(7, ctx=ctx, timeout=CALL_TIMEOUT),
                lambda ctx: client.leases(ctx=ctx, timeout=CALL_TIMEOUT),
                lambda ctx: client.keep_alive_once(7, ctx=ctx, timeout=CALL_TIMEOUT),
                lambda ctx: next(client.keep_alive(7, ctx=ctx)),
            ]
            for n, call in enumerate(calls, 1):
                ctx = Context.background().with_cancel()
                timer = cancel_soon(ctx)
                with pytest.raises(CanceledError):
                    call(ctx)  # the server never answers: only the cancel ends it
                timer.join()
                assert mute.calls >= n  # it was in flight
    finally:
        server.stop(0).wait(WAIT)
