"""The asyncio Cluster (:class:`etcd3py.aio.cluster.Cluster`) and endpoint sync on every backend.

The member list answers as the sync client's (both forms, both asking the same endpoint);
a learner is added then removed on real etcd (alone on a shared cluster), and the reference
server refuses membership changes as the sync tests show; bad input raises the sync face's
error before sending; a ctx and a task cancel apply. ``sync_endpoints``/``set_endpoints`` of
the asyncio transport move new calls to a new channel at once and close the old one when its
last call ends, and ``close()`` closes all. The backend may be one member or a cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Context
from etcd3py._aio_transport import AioTransport
from etcd3py._calls import kv as kv_calls
from etcd3py.aio.cluster import Cluster
from etcd3py.aio.maintenance import Maintenance
from etcd3py.cluster import MemberAddResponse, MemberListResponse
from etcd3py.config import parse_endpoints
from etcd3py.errors import (
    CanceledError,
    ClientClosedError,
    DeadlineExceededError,
    InvalidArgumentError,
    MemberNotLearnerError,
    UnimplementedError,
)
from etcd3py.op import Op
from tests.aio.unary_support import (
    WAIT,
    Rejects,
    aio_transport_on,
    cancel_ctx_in_flight,
    cancel_in_flight,
    connected,
    held_transport,
    proxy,
    rejects,
    request_left,
    same_view,
)
from tests.backends import Backend, EtcdProcess
from tests.e2e.hold_proxy import HoldProxy
from tests.e2e.test_cluster_api import check_lists_endpoint_members, unserved_peer_url

__all__ = ["held_transport", "proxy", "rejects"]  # fixtures


@pytest.mark.parametrize("linearizable", [True, False])
async def test_member_list_answers_as_the_sync_client(
    backend: Backend, new_client: Callable[..., Client], linearizable: bool
) -> None:
    first = backend.endpoints[0]  # both faces ask one member: the headers are the same
    async with aio_transport_on(first) as transport:
        cluster = Cluster(transport)
        listed = await cluster.member_list(linearizable=linearizable, timeout=WAIT)
        assert isinstance(listed, MemberListResponse)
        sync = new_client(endpoints=[first])
        same_view(listed, sync.member_list(linearizable=linearizable, timeout=WAIT))
        status = await Maintenance(transport).status(first, timeout=WAIT)
        assert listed.header.member_id == status.header.member_id != 0
        check_lists_endpoint_members(listed.members, {first: status.header.member_id})
        leader = Context.background().with_require_leader()
        same_view(await cluster.member_list(ctx=leader), listed)


@pytest.mark.real_etcd_only
@pytest.mark.cluster_wide  # adds, updates and removes a member: alone on a shared cluster
async def test_learner_added_then_removed(aio_transport: AioTransport, client: Client) -> None:
    cluster = Cluster(aio_transport)
    before = {m.id for m in (await cluster.member_list(timeout=WAIT)).members}
    added = await cluster.member_add_as_learner([unserved_peer_url()], timeout=WAIT)
    try:
        assert isinstance(added, MemberAddResponse) and added.member.is_learner
        listed = {m.id: m for m in client.member_list(timeout=WAIT).members}
        assert listed.keys() == before | {added.member.id}
        assert listed[added.member.id].is_learner
        urls = [unserved_peer_url()]
        updated = await cluster.member_update(added.member.id, urls, timeout=WAIT)
        assert {m.id: m.peer_urls for m in updated.members}[added.member.id] == urls
    finally:
        left = await cluster.member_remove(added.member.id, timeout=WAIT)
    assert {m.id for m in left.members} == before
    voters = (await cluster.member_list(timeout=WAIT)).members
    assert {m.id for m in voters} == before and not any(m.is_learner for m in voters)
    for voter in voters:
        with pytest.raises(MemberNotLearnerError):
            await cluster.member_promote(voter.id, timeout=WAIT)


@pytest.mark.testserver_only
async def test_reference_server_refuses_membership_changes(aio_transport: AioTransport) -> None:
    cluster = Cluster(aio_transport)
    (member,) = (await cluster.member_list()).members
    calls = [
        cluster.member_add([unserved_peer_url()], is_learner=True, timeout=WAIT),
        cluster.member_add_as_learner([unserved_peer_url()], timeout=WAIT),
        cluster.member_remove(member.id, timeout=WAIT),
        cluster.member_update(member.id, [unserved_peer_url()], timeout=WAIT),
        cluster.member_promote(member.id, timeout=WAIT),
    ]
    for call in calls:
        with pytest.raises(UnimplementedError, match=r"testserver: Cluster\.Member"):
            await call


BAD_INPUT: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("member_list", (), {"linearizable": "yes"}),
    ("member_list", (), {"timeout": -2}),
    ("member_add", ("http://127.0.0.1:2380",), {}),
    ("member_add", ([1],), {}),
    ("member_add", (["http://127.0.0.1:2380"],), {"is_learner": 1}),
    ("member_add_as_learner", ([None],), {}),
    ("member_remove", ("7",), {}),
    ("member_remove", (-1,), {}),
    ("member_update", (2**64, ["http://127.0.0.1:2380"]), {}),
    ("member_promote", (True,), {}),
    ("member_promote", (7,), {"ctx": "ctx"}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), BAD_INPUT)
async def test_bad_input_raises_the_sync_error_before_sending(
    aio_transport: AioTransport, rejects: Rejects, method: str, args: Any, kwargs: Any
) -> None:
    await rejects(Cluster(aio_transport), method, args, kwargs)


async def test_ctx_and_task_cancel(
    held_transport: AioTransport, proxy: HoldProxy, backend: Backend
) -> None:
    cluster = Cluster(held_transport)
    expired = Context.background().with_timeout(1e-9)
    with pytest.raises(DeadlineExceededError):
        await cluster.member_list(ctx=expired)
    cancelled = Context.background().with_cancel()
    cancelled.cancel()
    with pytest.raises(CanceledError):
        await cluster.member_promote(1, ctx=cancelled)
    await cancel_ctx_in_flight(
        held_transport, proxy, lambda ctx: cluster.member_list(ctx=ctx, timeout=WAIT)
    )
    await cancel_in_flight(held_transport, proxy, lambda: cluster.member_list(timeout=WAIT))
    listed = await cluster.member_list(timeout=WAIT)  # the proxy's member answers
    check_lists_endpoint_members(listed.members, {backend.endpoints[0]: listed.header.member_id})


async def test_sync_endpoints_moves_to_the_listed_members(
    held_transport: AioTransport, proxy: HoldProxy
) -> None:
    t = held_transport
    assert t.endpoints == (proxy.endpoint,)
    old = t.channel
    synced = await t.sync_endpoints(timeout=WAIT)
    members = (await Cluster(t).member_list(timeout=WAIT)).members  # on the new channel
    urls = tuple(u.split("://")[-1] for m in members if not m.is_learner for u in m.client_urls)
    assert synced == t.endpoints == urls  # every voter's, in the list's order
    assert t.channel is not old and old._channel.closed()  # no call ran on it: closed at once
    assert await t.set_endpoints(parse_endpoints(list(synced))) is False  # the same list
    with proxy.hold():  # new calls no longer go through the proxy
        assert (await t.run(kv_calls.do(Op.get("/k")), timeout=WAIT)).header.revision > 0
    assert not proxy.held.is_set()


async def test_a_replaced_channel_closes_when_its_last_call_ends(
    held_transport: AioTransport, proxy: HoldProxy, backend: Backend
) -> None:
    t = held_transport
    old = t.channel
    await connected(t)
    with proxy.hold():  # a call stays in flight on the old channel
        task = asyncio.ensure_future(t.run(kv_calls.do(Op.get("/k")), timeout=WAIT))
        await request_left(proxy)
        assert await t.set_endpoints(parse_endpoints(backend.endpoints)) is True
        assert (await t.run(kv_calls.do(Op.get("/k")), timeout=WAIT)).header.revision > 0
        assert t.channel is not old and not old._channel.closed()  # still serving that call
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert old._channel.closed() and t._channels.retired_count == 0  # its last call ended: closed


async def test_set_endpoints_rules_and_close(backend: Backend, proxy: HoldProxy) -> None:
    async with aio_transport_on(backend.endpoints[0]) as t:
        with pytest.raises(InvalidArgumentError):
            await t.set_endpoints([])
        first = t.channel
        assert await t.set_endpoints(parse_endpoints([proxy.endpoint])) is True
        assert first._channel.closed()  # nothing ran on it: closed at once
        await connected(t)
        with proxy.hold():
            task = asyncio.ensure_future(t.run(kv_calls.do(Op.get("/k")), timeout=WAIT))
            await request_left(proxy)
            second = t.channel
            assert await t.set_endpoints(parse_endpoints(backend.endpoints)) is True
            await t.close()  # closes the current channel and the one still serving a call
            assert second._channel.closed() and t.channel._channel.closed()
            with pytest.raises((asyncio.CancelledError, CanceledError, ClientClosedError)):
                await task
        with pytest.raises(ClientClosedError):
            await t.sync_endpoints()


@pytest.mark.cluster
async def test_sync_endpoints_learns_every_member_of_a_cluster(
    etcd_cluster: list[EtcdProcess],
) -> None:
    first = etcd_cluster[0]
    async with aio_transport_on(first.endpoint) as t:
        old = t.channel
        synced = await t.sync_endpoints(timeout=WAIT)
        assert sorted(synced) == sorted(m.endpoint for m in etcd_cluster) == sorted(t.endpoints)
        assert old._channel.closed() and t._channels.retired_count == 0
        assert await t.sync_endpoints(timeout=WAIT) == synced  # unchanged: nothing rebuilt
        members = (await Cluster(t).member_list(timeout=WAIT)).members
        assert len(members) == 3
        first.kill()  # the calls go on through the other members
        listed = await Cluster(t).member_list(linearizable=False, timeout=WAIT)
        assert len(listed.members) == 3
