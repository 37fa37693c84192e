"""Asyncio keep-alives across faults: dropped connections, outages, hung and mute servers.

The keep-alive transport dials through a :class:`~testserver.bridge.Bridge` (or a private
gRPC server that misbehaves); the ``aio_transport`` fixture's direct one checks the lease.
Every wait is bounded, as in the sync suite (``tests/faults/test_lease_faults.py``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent import futures

import grpc
import pytest

from etcd3py import Context, _stubs
from etcd3py._aio_transport import AioTransport
from etcd3py.aio.lease import GrpcLease, KeepAlive
from etcd3py.config import Config, parse_endpoints
from etcd3py.errors import CanceledError, LeaseExpiredError, LeaseNotFoundError, NoLeaderError
from tests.backends import Backend, EtcdProcess
from tests.faults.test_lease_faults import GoesSilent, Mute
from testserver.bridge import Bridge

pytestmark = pytest.mark.faults

WAIT = 15.0  # seconds any single renewal may take, reconnects included


async def renewals(ka: KeepAlive, count: int) -> None:
    """Take ``count`` renewals, each within WAIT (a reconnect may delay one)."""
    for _ in range(count):
        assert await ka.get(WAIT) is not None, f"no renewal ({ka!r})"


@pytest.fixture
def bridge(backend: Backend) -> Iterator[Bridge]:
    with Bridge(backend.endpoints[0]) as b:
        yield b


async def lease_on(endpoint: str) -> tuple[AioTransport, GrpcLease]:
    transport = AioTransport(Config(endpoints=parse_endpoints([endpoint])))
    await transport.start()
    return transport, GrpcLease(transport)


@pytest.fixture
async def keeper(bridge: Bridge) -> AsyncIterator[GrpcLease]:
    """A Lease whose transport dials through the bridge."""
    transport, lease = await lease_on(bridge.endpoint)
    try:
        yield lease
    finally:
        await lease.close()
        assert lease.driver.tasks == []
        await transport.close()


@pytest.fixture
def checker(aio_transport: AioTransport) -> GrpcLease:
    """A Lease on the direct transport (the fixture closes it; no keep-alive here)."""
    return GrpcLease(aio_transport)


async def test_keep_alive_survives_dropped_connections(
    keeper: GrpcLease, checker: GrpcLease, bridge: Bridge
) -> None:
    ttl = 3
    grant = await checker.grant(ttl)
    async with keeper.keep_alive(grant) as ka:
        await renewals(ka, 1)
        for _ in range(2):
            assert bridge.cut() >= 1
            await renewals(ka, 4)  # more than one TTL of renewals on the new stream
        assert 0 < (await checker.time_to_live(grant)).ttl <= ttl
        assert not ka.done
    assert bridge.accepted >= 3  # the keeper came back after each cut
    await checker.revoke(grant)


async def test_a_short_outage_ends_nothing(
    keeper: GrpcLease, checker: GrpcLease, bridge: Bridge
) -> None:
    grant = await checker.grant(4)
    async with keeper.keep_alive(grant) as ka:
        await renewals(ka, 1)
        with bridge.outage():
            assert not await ka.wait(1.5)  # shorter than the TTL: nothing ends
        await renewals(ka, 2)
        assert (await checker.time_to_live(grant)).ttl > 0
    await checker.revoke(grant)


async def test_an_outage_longer_than_the_ttl_ends_with_lease_expired(
    keeper: GrpcLease, checker: GrpcLease, bridge: Bridge
) -> None:
    grant = await checker.grant(2)
    ka = keeper.keep_alive(grant)
    await renewals(ka, 1)
    with bridge.outage():
        assert await ka.wait(WAIT)  # the deadline check ends it while the stream is down
    assert isinstance(ka.err(), LeaseExpiredError)
    with pytest.raises(LeaseExpiredError):
        for _ in range(100):  # renewals taken before the outage come first
            await ka.__anext__()
    assert keeper.driver.kept_alive() == []
    with pytest.raises(LeaseNotFoundError):
        for _ in range(100):  # the server lets it expire too (etcd's expiry tick)
            await checker.keep_alive_once(grant)
            await asyncio.sleep(0.2)


@pytest.mark.testserver_only
async def test_keep_alive_survives_dropped_streams_and_a_restart(
    backend: Backend, checker: GrpcLease
) -> None:
    srv = backend.server
    assert srv is not None
    grant = await checker.grant(3)
    transport, lease = await lease_on(backend.endpoints[0])
    try:
        async with lease.keep_alive(grant) as ka:
            await renewals(ka, 1)
            for fault in (srv.drop_streams, srv.restart):
                fault()
                await renewals(ka, 4)
            assert not ka.done
    finally:
        await lease.close()
        await transport.close()
    await checker.revoke(grant)


def serve(servicer: _stubs.rpc_grpc.LeaseServicer) -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    _stubs.rpc_grpc.add_LeaseServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


async def test_a_silent_stream_is_reopened_before_the_lease_is_lost() -> None:
    servicer = GoesSilent()
    server, endpoint = serve(servicer)
    transport, lease = await lease_on(endpoint)
    try:
        async with lease.keep_alive(7) as ka:
            await renewals(ka, 6)  # 2 on the mute stream, then more on a new one
            assert servicer.calls >= 2
            assert not ka.done
    finally:
        await lease.close()
        await transport.close()
        server.stop(0).wait(WAIT)


async def test_cancelling_a_call_in_flight_cancels_the_rpc() -> None:
    mute = Mute()
    server, endpoint = serve(mute)
    transport, lease = await lease_on(endpoint)
    try:
        task = asyncio.ensure_future(lease.keep_alive_once(7, timeout=60))
        while mute.calls == 0:  # in flight once the server has it
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        calls = [
            lease.grant(30, timeout=60),
            lease.revoke(7, timeout=60),
            lease.time_to_live(7, timeout=60),
            lease.leases(timeout=60),
        ]
        for n, coro in enumerate(calls, 2):
            task = asyncio.ensure_future(coro)
            while mute.calls < n:  # in flight once the server has it
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        # a ctx cancelled from another thread ends a call in flight with CanceledError
        ctx = Context.background().with_cancel()
        timer = threading.Timer(0.3, ctx.cancel)
        timer.start()
        with pytest.raises(CanceledError):
            await lease.keep_alive_once(7, ctx=ctx, timeout=60)
        timer.join()
        # and a keep-alive whose first renewal never comes
        ctx = Context.background().with_cancel()
        ka = lease.keep_alive(7, ctx=ctx)
        timer = threading.Timer(0.3, ctx.cancel)
        timer.start()
        with pytest.raises(CanceledError):
            await ka.__anext__()
        timer.join()
        assert mute.calls >= 7
    finally:
        await lease.close()
        await transport.close()
        server.stop(0).wait(WAIT)


@pytest.mark.cluster
async def test_require_leader_keep_alive_ends_with_no_leader_while_a_plain_one_goes_on(
    etcd_cluster: list[EtcdProcess],
) -> None:
    """As ``tests/cluster/test_lease_leader.py``: the member loses its leader."""
    lonely, peers = etcd_cluster[0], etcd_cluster[1:]
    transport, lease = await lease_on(lonely.endpoint)
    try:
        guarded_lease, plain_lease = await lease.grant(15), await lease.grant(15)
        guarded = lease.keep_alive(guarded_lease, ctx=Context.background().with_require_leader())
        plain = lease.keep_alive(plain_lease)
        await renewals(guarded, 1)
        await renewals(plain, 1)
        assert len(lease.driver.streams()) == 2
        for peer in peers:
            await asyncio.to_thread(peer.stop)
        assert await guarded.wait(30.0), "the require_leader keep-alive did not end"
        assert isinstance(guarded.err(), NoLeaderError), guarded.err()
        with pytest.raises(NoLeaderError):
            for _ in range(100):  # responses still buffered come first
                await guarded.__anext__()
        assert not plain.done  # another stream: not ended by it
        for peer in peers:
            await asyncio.to_thread(peer.start)
        for peer in peers:
            await asyncio.to_thread(peer.wait_serving)
        while await plain.get(0) is not None:  # drop what came before the leader was lost
            pass
        await renewals(plain, 1)  # renewed again once a leader is back
        await plain.close()
        assert plain.err() is None and lease.driver.streams() == []
        for granted in (guarded_lease, plain_lease):
            await lease.revoke(granted, timeout=30.0)
    finally:
        await lease.close()
        await transport.close()
