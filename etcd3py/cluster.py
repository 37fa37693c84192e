"""The Cluster concern: membership (clientv3 ``cluster.go``).

Owns :class:`Cluster` and the member views. For now it lists members; adding, removing,
updating and promoting members arrive with the cluster issue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcd3py import _pb
from etcd3py._transport import check_timeout
from etcd3py.models import ResponseHeader

if TYPE_CHECKING:
    from etcd3py._transport import Transport

__all__ = ["Cluster", "Member", "MemberListResponse"]


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


class MemberListResponse:
    """The answer to a member list.

    Attributes:
        header: the response header.
        members: every member of the cluster.
    """

    __slots__ = ("_pb",)

    def __init__(self, pb: _pb.rpc.MemberListResponse) -> None:
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
        return f"MemberListResponse(members={self.members!r})"


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
