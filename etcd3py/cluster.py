"""The Cluster concern: membership (clientv3 ``cluster.go``).

Owns :class:`Cluster`: list, add (as a voter or a learner), remove, update the peer URLs
of, and promote members; the member views (:mod:`etcd3py._cluster_views`) are re-exported
here. Each RPC is described once in :mod:`etcd3py._calls.cluster` (request, argument checks,
retry class, view) and run by the transport on the client's channel; etcd forwards
membership changes through raft. Arguments are checked before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from etcd3py._calls import cluster as calls
from etcd3py._cluster_views import (
    Member,
    MemberAddResponse,
    MemberListResponse,
    MemberPromoteResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
)
from etcd3py._transport import check_timeout

if TYPE_CHECKING:
    from etcd3py._transport import Transport
    from etcd3py.context import Context

__all__ = [
    "Cluster",
    "Member",
    "MemberAddResponse",
    "MemberListResponse",
    "MemberPromoteResponse",
    "MemberRemoveResponse",
    "MemberUpdateResponse",
]


class Cluster:
    """Cluster membership, as clientv3's ``Cluster`` interface.

    Every call takes ``timeout=`` (seconds, retries included) and ``ctx=`` (a
    :class:`~etcd3py.Context` whose deadline, cancellation and metadata apply); the nearer
    of the two deadlines bounds the call.
    """

    def __init__(self, transport: Transport) -> None:
        """Serve cluster calls through ``transport``.

        Args:
            transport: the client's transport.
        """
        self._transport = transport

    def member_list(
        self,
        *,
        linearizable: bool = True,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberListResponse:
        """List the members of the cluster.

        As clientv3's ``MemberList``, the list is read through the raft log by default, so it
        is never older than a change already acknowledged; ``linearizable=False`` (clientv3's
        ``WithSerializable()``) reads the answering member's own view, which works without a
        leader. etcd 3.4 ignores the option and always answers from its own view.

        Args:
            linearizable: read the list through the raft log (etcd 3.5+), not the local view.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The members.

        Raises:
            ArgumentTypeError: ``linearizable`` is not a bool.
        """
        check_timeout(timeout)
        return self._transport.run(calls.member_list(linearizable), timeout=timeout, ctx=ctx)

    def member_add(
        self,
        peer_urls: Sequence[str],
        *,
        is_learner: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberAddResponse:
        """Add a member that will serve its peers on ``peer_urls``.

        Args:
            peer_urls: the new member's peer URLs (``http://host:port``).
            is_learner: add it as a non-voting learner (promote it later).
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member added and the new member list.

        Raises:
            ArgumentTypeError: ``peer_urls`` is not a list of strings.
            MemberBadURLsError: a URL is not a valid peer URL.
            PeerURLExistError: a member already has one of the URLs.
            TooManyLearnersError: the cluster already has its learner.
            UnhealthyError: adding a voter now would risk the quorum.
        """
        check_timeout(timeout)
        call = calls.member_add(peer_urls, is_learner)
        return self._transport.run(call, timeout=timeout, ctx=ctx)

    def member_add_as_learner(
        self,
        peer_urls: Sequence[str],
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberAddResponse:
        """Add a non-voting learner: clientv3's ``MemberAddAsLearner``.

        The same as ``member_add(peer_urls, is_learner=True)``.

        Args:
            peer_urls: the new learner's peer URLs (``http://host:port``).
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The learner added and the new member list.

        Raises:
            ArgumentTypeError: ``peer_urls`` is not a list of strings.
            MemberBadURLsError: a URL is not a valid peer URL.
            PeerURLExistError: a member already has one of the URLs.
            TooManyLearnersError: the cluster already has its learner.
        """
        return self.member_add(peer_urls, is_learner=True, timeout=timeout, ctx=ctx)

    def member_remove(
        self, id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MemberRemoveResponse:
        """Remove the member ``id`` from the cluster.

        Args:
            id: the member ID.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The members left.

        Raises:
            ArgumentTypeError: ``id`` is not an int.
            InvalidArgumentError: ``id`` does not fit a member ID (uint64).
            MemberNotFoundError: no member has that ID.
            UnhealthyError: removing it now would lose the quorum.
        """
        check_timeout(timeout)
        return self._transport.run(calls.member_remove(id), timeout=timeout, ctx=ctx)

    def member_update(
        self,
        id: int,
        peer_urls: Sequence[str],
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> MemberUpdateResponse:
        """Replace the peer URLs of member ``id``.

        Args:
            id: the member ID.
            peer_urls: its new peer URLs.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member list after the update.

        Raises:
            ArgumentTypeError: ``id`` is not an int, or ``peer_urls`` not a list of strings.
            InvalidArgumentError: ``id`` does not fit a member ID (uint64).
            MemberNotFoundError: no member has that ID.
            PeerURLExistError: another member already has one of the URLs.
        """
        check_timeout(timeout)
        call = calls.member_update(id, peer_urls)
        return self._transport.run(call, timeout=timeout, ctx=ctx)

    def member_promote(
        self, id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MemberPromoteResponse:
        """Promote the learner ``id`` to a voting member.

        Args:
            id: the learner's member ID.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member list after the promotion.

        Raises:
            ArgumentTypeError: ``id`` is not an int.
            InvalidArgumentError: ``id`` does not fit a member ID (uint64).
            MemberNotFoundError: no member has that ID.
            MemberNotLearnerError: the member is already a voter.
            LearnerNotReadyError: the learner has not caught up with the leader yet.
        """
        check_timeout(timeout)
        return self._transport.run(calls.member_promote(id), timeout=timeout, ctx=ctx)
