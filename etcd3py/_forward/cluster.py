"""The ``Client`` methods that forward to ``client.cluster``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from etcd3py.cluster import (
    Cluster,
    MemberAddResponse,
    MemberListResponse,
    MemberPromoteResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
)

if TYPE_CHECKING:
    from etcd3py.context import Context

__all__ = ["ClusterMethods"]


class ClusterMethods:
    """The Cluster methods of a client.

    Each method looks ``self.cluster`` up on every call, so replacing ``client.cluster`` changes
    what it does, as in clientv3.
    """

    cluster: Cluster

    def member_list(
        self,
        *,
        linearizable: bool = True,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberListResponse:
        """List the cluster's members: ``client.cluster.member_list``.

        Args:
            linearizable: read the list through the raft log (the default), not the
                answering member's own view (``False``: clientv3's ``WithSerializable``).
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The members.
        """
        return self.cluster.member_list(linearizable=linearizable, timeout=timeout, ctx=ctx)

    def member_add(
        self,
        peer_urls: Sequence[str],
        *,
        is_learner: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberAddResponse:
        """Add a member: ``client.cluster.member_add``.

        Args:
            peer_urls: the new member's peer URLs.
            is_learner: add it as a non-voting learner.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member added and the new member list.
        """
        return self.cluster.member_add(peer_urls, is_learner=is_learner, timeout=timeout, ctx=ctx)

    def member_add_as_learner(
        self,
        peer_urls: Sequence[str],
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberAddResponse:
        """Add a learner: ``client.cluster.member_add_as_learner``.

        Args:
            peer_urls: the new learner's peer URLs.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The learner added and the new member list.
        """
        return self.cluster.member_add_as_learner(peer_urls, timeout=timeout, ctx=ctx)

    def member_remove(
        self, id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MemberRemoveResponse:
        """Remove a member: ``client.cluster.member_remove``.

        Args:
            id: the member ID.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The members left.
        """
        return self.cluster.member_remove(id, timeout=timeout, ctx=ctx)

    def member_update(
        self,
        id: int,
        peer_urls: Sequence[str],
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberUpdateResponse:
        """Replace a member's peer URLs: ``client.cluster.member_update``.

        Args:
            id: the member ID.
            peer_urls: its new peer URLs.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member list after the update.
        """
        return self.cluster.member_update(id, peer_urls, timeout=timeout, ctx=ctx)

    def member_promote(
        self, id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MemberPromoteResponse:
        """Promote a learner: ``client.cluster.member_promote``.

        Args:
            id: the learner's member ID.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member list after the promotion.
        """
        return self.cluster.member_promote(id, timeout=timeout, ctx=ctx)
