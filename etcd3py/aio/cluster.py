"""The asyncio face's Cluster concern: membership, awaited; see :mod:`etcd3py.cluster`.

Each method awaits the description of its RPC in :mod:`etcd3py._calls.cluster` (request,
argument checks, retry class, view) on the asyncio transport; arguments are checked before
anything is sent, and the views and errors are the sync face's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from etcd3py import cluster as _sync
from etcd3py._calls import cluster as calls
from etcd3py._cluster_views import Member as Member
from etcd3py._cluster_views import (
    MemberAddResponse,
    MemberListResponse,
    MemberPromoteResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
)
from etcd3py._transport import check_timeout

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport
    from etcd3py.context import Context

__all__ = list(_sync.__all__)  # the same names: the class, and the views it answers with


class Cluster:
    """Cluster membership, awaited; see :class:`etcd3py.cluster.Cluster`."""

    def __init__(self, transport: AioTransport) -> None:
        """Serve cluster calls through ``transport``.

        Args:
            transport: the asyncio client's transport.
        """
        self._transport = transport

    async def member_list(
        self,
        *,
        linearizable: bool = True,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberListResponse:
        """List the members of the cluster; see :meth:`etcd3py.cluster.Cluster.member_list`."""
        check_timeout(timeout)
        return await self._transport.run(calls.member_list(linearizable), timeout=timeout, ctx=ctx)

    async def member_add(
        self,
        peer_urls: Sequence[str],
        *,
        is_learner: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberAddResponse:
        """Add a member that will serve its peers on ``peer_urls``.

        See :meth:`etcd3py.cluster.Cluster.member_add`.
        """
        check_timeout(timeout)
        call = calls.member_add(peer_urls, is_learner)
        return await self._transport.run(call, timeout=timeout, ctx=ctx)

    async def member_add_as_learner(
        self,
        peer_urls: Sequence[str],
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberAddResponse:
        """Add a non-voting learner: clientv3's ``MemberAddAsLearner``.

        See :meth:`etcd3py.cluster.Cluster.member_add_as_learner`.
        """
        return await self.member_add(peer_urls, is_learner=True, timeout=timeout, ctx=ctx)

    async def member_remove(
        self, id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MemberRemoveResponse:
        """Remove the member ``id`` from the cluster.

        See :meth:`etcd3py.cluster.Cluster.member_remove`.
        """
        check_timeout(timeout)
        return await self._transport.run(calls.member_remove(id), timeout=timeout, ctx=ctx)

    async def member_update(
        self,
        id: int,
        peer_urls: Sequence[str],
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberUpdateResponse:
        """Replace the peer URLs of member ``id``.

        See :meth:`etcd3py.cluster.Cluster.member_update`.
        """
        check_timeout(timeout)
        call = calls.member_update(id, peer_urls)
        return await self._transport.run(call, timeout=timeout, ctx=ctx)

    async def member_promote(
        self, id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MemberPromoteResponse:
        """Promote the learner ``id`` to a voting member.

        See :meth:`etcd3py.cluster.Cluster.member_promote`.
        """
        check_timeout(timeout)
        return await self._transport.run(calls.member_promote(id), timeout=timeout, ctx=ctx)
