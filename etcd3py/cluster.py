"""The Cluster concern: membership (clientv3 ``cluster.go``).

Owns :class:`Cluster` and the member views: list, add (as a voter or a learner), remove,
update the peer URLs of, and promote members. Every call goes to the client's channel; etcd
forwards membership changes through raft. Arguments are checked before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from etcd3py import _pb
from etcd3py._ints import check_int
from etcd3py._transport import check_timeout
from etcd3py.errors import ArgumentTypeError
from etcd3py.models import ResponseHeader

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
        _check_bool("linearizable", linearizable)
        request = _pb.rpc.MemberListRequest(linearizable=linearizable)
        t = self._transport
        return MemberListResponse(
            t.call(t.cluster.MemberList, request, timeout=timeout, ctx=ctx, repeatable=True)
        )

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
        _check_bool("is_learner", is_learner)
        urls = _urls(peer_urls)
        request = _pb.rpc.MemberAddRequest(peerURLs=urls, isLearner=is_learner)
        t = self._transport
        return MemberAddResponse(t.call(t.cluster.MemberAdd, request, timeout=timeout, ctx=ctx))

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
        request = _pb.rpc.MemberRemoveRequest(ID=_member_id(id))
        t = self._transport
        return MemberRemoveResponse(
            t.call(t.cluster.MemberRemove, request, timeout=timeout, ctx=ctx)
        )

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
        request = _pb.rpc.MemberUpdateRequest(ID=_member_id(id), peerURLs=_urls(peer_urls))
        t = self._transport
        return MemberUpdateResponse(
            t.call(t.cluster.MemberUpdate, request, timeout=timeout, ctx=ctx)
        )

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
        request = _pb.rpc.MemberPromoteRequest(ID=_member_id(id))
        t = self._transport
        return MemberPromoteResponse(
            t.call(t.cluster.MemberPromote, request, timeout=timeout, ctx=ctx)
        )


#: The largest member ID (etcd's member IDs are ``uint64``).
_UINT64_MAX = 2**64 - 1


def _member_id(value: object, name: str = "id") -> int:
    """Return ``value`` checked as a member ID (an ``int`` in ``[0, 2**64)``).

    Args:
        value: the user's argument.
        name: the argument's name, for the message.

    Returns:
        The ID.

    Raises:
        ArgumentTypeError: not an ``int``.
        InvalidArgumentError: negative or past ``uint64``.
    """
    return check_int(name, value, maximum=_UINT64_MAX)


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be a bool, not {type(value).__name__}")


def _urls(peer_urls: object) -> list[str]:
    """The peer URLs as a list of strings (a lone string is refused: it is not a list)."""
    if isinstance(peer_urls, (str, bytes)) or not isinstance(peer_urls, Sequence):
        raise ArgumentTypeError(
            f"peer_urls must be a list of strings, not {type(peer_urls).__name__}"
        )
    urls = list(peer_urls)
    for url in urls:
        if not isinstance(url, str):
            raise ArgumentTypeError(f"peer_urls must hold strings, not {type(url).__name__}")
    return urls
