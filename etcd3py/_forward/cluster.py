"""The ``Client`` methods that forward to ``client.cluster``."""

from __future__ import annotations

from etcd3py.cluster import (
    Cluster,
    MemberAddResponse,
    MemberListResponse,
    MemberPromoteResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
)

__all__ = ["ClusterMethods"]


class ClusterMethods:
    """The Cluster methods of a client.

    Each method looks ``self.cluster`` up on every call, so replacing ``client.cluster`` changes
    what it does, as in clientv3.
    """

    cluster: Cluster

    def member_list(self, *, timeout: float | None = None) -> MemberListResponse:
        """List the cluster's members: ``client.cluster.member_list``.

        Args:
            timeout: seconds for the call.

        Returns:
            The members.
        """
        return self.cluster.member_list(timeout=timeout)

    def member_add(
        self, peer_urls: list[str], *, is_learner: bool = False, timeout: float | None = None
    ) -> MemberAddResponse:
        """Add a member: ``client.cluster.member_add``.

        Args:
            peer_urls: the new member's peer URLs.
            is_learner: add it as a non-voting learner.
            timeout: seconds for the call.

        Returns:
            The member added and the new member list.
        """
        return self.cluster.member_add(peer_urls, is_learner=is_learner, timeout=timeout)

    def member_remove(self, id: int, *, timeout: float | None = None) -> MemberRemoveResponse:
        """Remove a member: ``client.cluster.member_remove``.

        Args:
            id: the member ID.
            timeout: seconds for the call.

        Returns:
            The members left.
        """
        return self.cluster.member_remove(id, timeout=timeout)

    def member_update(
        self, id: int, peer_urls: list[str], *, timeout: float | None = None
    ) -> MemberUpdateResponse:
        """Replace a member's peer URLs: ``client.cluster.member_update``.

        Args:
            id: the member ID.
            peer_urls: its new peer URLs.
            timeout: seconds for the call.

        Returns:
            The member list after the update.
        """
        return self.cluster.member_update(id, peer_urls, timeout=timeout)

    def member_promote(self, id: int, *, timeout: float | None = None) -> MemberPromoteResponse:
        """Promote a learner: ``client.cluster.member_promote``.

        Args:
            id: the learner's member ID.
            timeout: seconds for the call.

        Returns:
            The member list after the promotion.
        """
        return self.cluster.member_promote(id, timeout=timeout)
