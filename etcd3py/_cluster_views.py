"""The cluster response views: read-only, typed, over the protobuf messages.

Re-exported by :mod:`etcd3py.cluster`, whose names they are; no I/O here.
"""

from __future__ import annotations

from typing import TypeVar

from etcd3py import _pb
from etcd3py._responses import _View

__all__ = [
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


_M = TypeVar(
    "_M",
    _pb.rpc.MemberListResponse,
    _pb.rpc.MemberAddResponse,
    _pb.rpc.MemberRemoveResponse,
    _pb.rpc.MemberUpdateResponse,
    _pb.rpc.MemberPromoteResponse,
)


class _MembersResponse(_View[_M]):
    """A response carrying a header and the member list (after the change, if any)."""

    __slots__ = ()

    @property
    def members(self) -> list[Member]:
        """Every member of the cluster."""
        return [Member(m) for m in self._pb.members]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(members={self.members!r})"


class MemberListResponse(_MembersResponse[_pb.rpc.MemberListResponse]):
    """The answer to a member list.

    Attributes:
        header: the response header.
        members: every member of the cluster.
    """

    __slots__ = ()


class MemberAddResponse(_MembersResponse[_pb.rpc.MemberAddResponse]):
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


class MemberRemoveResponse(_MembersResponse[_pb.rpc.MemberRemoveResponse]):
    """The answer to a member remove.

    Attributes:
        header: the response header.
        members: the members left.
    """

    __slots__ = ()


class MemberUpdateResponse(_MembersResponse[_pb.rpc.MemberUpdateResponse]):
    """The answer to a member update.

    Attributes:
        header: the response header.
        members: every member of the cluster, after the update.
    """

    __slots__ = ()


class MemberPromoteResponse(_MembersResponse[_pb.rpc.MemberPromoteResponse]):
    """The answer to a member promote.

    Attributes:
        header: the response header.
        members: every member of the cluster, after the promotion.
    """

    __slots__ = ()
