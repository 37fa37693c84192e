"""The Cluster concern: membership (clientv3 ``cluster.go``).

Owns :class:`Cluster` and the member views: list, add (as a voter or a learner), remove,
update the peer URLs of, and promote members. Every call goes to the client's channel; etcd
forwards membership changes through raft.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcd3py import _pb
from etcd3py._transport import check_timeout
from etcd3py.models import ResponseHeader

if TYPE_CHECKING:
    from etcd3py._transport import Transport

__all__ = [
    "Cluster",
    "Member",
    "MemberAddResponse",
    "MemberListResponse",
    "MemberPromoteResponse",
    "MemberRemoveResponse",
    "MemberUpdateResponse",
]


class Member:
    """One member of the cluster, read-only.

    Attributes:
        id: the member ID.
        name: the member's name (empty for a member added but not started).
        peer_urls: the URLs the member talks to its peers on.
        client_urls: the URLs it serves clients on.
        is_learner: whether it is a non-voting learner.
    """

    __slots__ = ("_pb",)

    def __init__(self, pb: _pb.rpc.Member) -> None:
        self._pb = pb

    @property
    def id(self) -> int:
        """The member ID."""
        return self._pb.ID

    @property
    def name(self) -> str:
        """The member's name."""
        return self._pb.name

    @property
    def peer_urls(self) -> list[str]:
        """The peer URLs."""
        return list(self._pb.peerURLs)

    @property
    def client_urls(self) -> list[str]:
        """The client URLs."""
        return list(self._pb.clientURLs)

    @property
    def is_learner(self) -> bool:
        """Whether the member is a learner."""
        return self._pb.isLearner

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Member):
            return NotImplemented
        return self._pb == other._pb

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Member(id={self.id:#x}, name={self.name!r}, peer_urls={self.peer_urls}, "
            f"client_urls={self.client_urls}, is_learner={self.is_learner})"
        )


class _MembersResponse:
    """A response carrying a header and the member list (after the change, if any)."""

    __slots__ = ("_pb",)

    def __init__(
        self,
        pb: _pb.rpc.MemberListResponse
        | _pb.rpc.MemberAddResponse
        | _pb.rpc.MemberRemoveResponse
        | _pb.rpc.MemberUpdateResponse
        | _pb.rpc.MemberPromoteResponse,
    ) -> None:
        self._pb = pb

    @property
    def header(self) -> ResponseHeader:
        """The response header."""
        return ResponseHeader(self._pb.header)

    @property
    def members(self) -> list[Member]:
        """Every member of the cluster."""
        return [Member(m) for m in self._pb.members]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(members={self.members!r})"


class MemberListResponse(_MembersResponse):
    """The answer to a member list.

    Attributes:
        header: the response header.
        members: every member of the cluster.
    """

    __slots__ = ()


class MemberAddResponse(_MembersResponse):
    """The answer to a member add.

    Attributes:
        header: the response header.
        member: the member added (its name is empty until it starts).
        members: every member of the cluster, the new one included.
    """

    __slots__ = ()

    @property
    def member(self) -> Member:
        """The member added."""
        assert isinstance(self._pb, _pb.rpc.MemberAddResponse)
        return Member(self._pb.member)

    def __repr__(self) -> str:
        return f"MemberAddResponse(member={self.member!r}, members={self.members!r})"


class MemberRemoveResponse(_MembersResponse):
    """The answer to a member remove.

    Attributes:
        header: the response header.
        members: the members left.
    """

    __slots__ = ()


class MemberUpdateResponse(_MembersResponse):
    """The answer to a member update.

    Attributes:
        header: the response header.
        members: every member of the cluster, after the update.
    """

    __slots__ = ()


class MemberPromoteResponse(_MembersResponse):
    """The answer to a member promote.

    Attributes:
        header: the response header.
        members: every member of the cluster, after the promotion.
    """

    __slots__ = ()


class Cluster:
    """Cluster membership, as clientv3's ``Cluster`` interface."""

    def __init__(self, transport: Transport) -> None:
        """Serve cluster calls through ``transport``.

        Args:
            transport: the client's transport.
        """
        self._transport = transport

    def member_list(
        self, *, linearizable: bool = False, timeout: float | None = None
    ) -> MemberListResponse:
        """List the members of the cluster.

        Args:
            linearizable: read the list through the raft log (etcd 3.5+), not the local view.
            timeout: seconds for the call, retries included.

        Returns:
            The members.
        """
        check_timeout(timeout)
        request = _pb.rpc.MemberListRequest(linearizable=linearizable)
        t = self._transport
        return MemberListResponse(
            t.call(t.cluster.MemberList, request, timeout=timeout, repeatable=True)
        )

    def member_add(
        self, peer_urls: list[str], *, is_learner: bool = False, timeout: float | None = None
    ) -> MemberAddResponse:
        """Add a member that will serve its peers on ``peer_urls``.

        Args:
            peer_urls: the new member's peer URLs (``http://host:port``).
            is_learner: add it as a non-voting learner (promote it later).
            timeout: seconds for the call, retries included.

        Returns:
            The member added and the new member list.

        Raises:
            PeerURLExistError: a member already has one of the URLs.
            TooManyLearnersError: the cluster already has its learner.
            UnhealthyError: adding a voter now would risk the quorum.
        """
        check_timeout(timeout)
        request = _pb.rpc.MemberAddRequest(peerURLs=list(peer_urls), isLearner=is_learner)
        t = self._transport
        return MemberAddResponse(t.call(t.cluster.MemberAdd, request, timeout=timeout))

    def member_remove(self, id: int, *, timeout: float | None = None) -> MemberRemoveResponse:
        """Remove the member ``id`` from the cluster.

        Args:
            id: the member ID.
            timeout: seconds for the call, retries included.

        Returns:
            The members left.

        Raises:
            MemberNotFoundError: no member has that ID.
            UnhealthyError: removing it now would lose the quorum.
        """
        check_timeout(timeout)
        request = _pb.rpc.MemberRemoveRequest(ID=id)
        t = self._transport
        return MemberRemoveResponse(t.call(t.cluster.MemberRemove, request, timeout=timeout))

    def member_update(
        self, id: int, peer_urls: list[str], *, timeout: float | None = None
    ) -> MemberUpdateResponse:
        """Replace the peer URLs of member ``id``.

        Args:
            id: the member ID.
            peer_urls: its new peer URLs.
            timeout: seconds for the call, retries included.

        Returns:
            The member list after the update.

        Raises:
            MemberNotFoundError: no member has that ID.
            PeerURLExistError: another member already has one of the URLs.
        """
        check_timeout(timeout)
        request = _pb.rpc.MemberUpdateRequest(ID=id, peerURLs=list(peer_urls))
        t = self._transport
        return MemberUpdateResponse(t.call(t.cluster.MemberUpdate, request, timeout=timeout))

    def member_promote(self, id: int, *, timeout: float | None = None) -> MemberPromoteResponse:
        """Promote the learner ``id`` to a voting member.

        Args:
            id: the learner's member ID.
            timeout: seconds for the call, retries included.

        Returns:
            The member list after the promotion.

        Raises:
            MemberNotFoundError: no member has that ID.
            MemberNotLearnerError: the member is already a voter.
            LearnerNotReadyError: the learner has not caught up with the leader yet.
        """
        check_timeout(timeout)
        request = _pb.rpc.MemberPromoteRequest(ID=id)
        t = self._transport
        return MemberPromoteResponse(t.call(t.cluster.MemberPromote, request, timeout=timeout))
