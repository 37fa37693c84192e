"""The Cluster service's RPCs, described once (see :mod:`etcd3py._calls`).

``member_list`` (may be repeated: it reads), ``member_add`` (as a voter or a learner),
``member_remove``, ``member_update`` and ``member_promote``, each answered by its view of
:mod:`etcd3py._cluster_views`; and ``check_member_id``, the check of a member ID that the
Maintenance descriptions share. Arguments are checked here, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from etcd3py import _pb
from etcd3py._calls import Call
from etcd3py._cluster_views import (
    MemberAddResponse,
    MemberListResponse,
    MemberPromoteResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
)
from etcd3py._ints import check_int
from etcd3py.errors import ArgumentTypeError

__all__ = [
    "check_bool",
    "check_member_id",
    "member_add",
    "member_list",
    "member_promote",
    "member_remove",
    "member_update",
]

#: The largest member ID (etcd's member IDs are ``uint64``).
_UINT64_MAX = 2**64 - 1


def check_member_id(value: object, name: str = "id") -> int:
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


def check_bool(name: str, value: object) -> None:
    """Refuse a ``value`` that is not a ``bool``.

    Args:
        name: the argument's name, for the message.
        value: the user's argument.

    Raises:
        ArgumentTypeError: ``value`` is not a ``bool``.
    """
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


def member_list(linearizable: bool) -> Call[MemberListResponse]:
    """Describe the MemberList RPC (a read: repeatable).

    Args:
        linearizable: read the list through the raft log, not the member's local view.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``linearizable`` is not a bool.
    """
    check_bool("linearizable", linearizable)
    request = _pb.rpc.MemberListRequest(linearizable=linearizable)
    return Call("cluster", "MemberList", request, MemberListResponse, repeatable=True)


def member_add(peer_urls: Sequence[str], is_learner: bool) -> Call[MemberAddResponse]:
    """Describe the MemberAdd RPC.

    Args:
        peer_urls: the new member's peer URLs.
        is_learner: add it as a non-voting learner.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``is_learner`` is not a bool, or ``peer_urls`` not a list of
            strings.
    """
    check_bool("is_learner", is_learner)
    request = _pb.rpc.MemberAddRequest(peerURLs=_urls(peer_urls), isLearner=is_learner)
    return Call("cluster", "MemberAdd", request, MemberAddResponse)


def member_remove(id: int) -> Call[MemberRemoveResponse]:
    """Describe the MemberRemove RPC.

    Args:
        id: the member ID.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``id`` is not an int.
        InvalidArgumentError: ``id`` does not fit a member ID (uint64).
    """
    request = _pb.rpc.MemberRemoveRequest(ID=check_member_id(id))
    return Call("cluster", "MemberRemove", request, MemberRemoveResponse)


def member_update(id: int, peer_urls: Sequence[str]) -> Call[MemberUpdateResponse]:
    """Describe the MemberUpdate RPC.

    Args:
        id: the member ID.
        peer_urls: its new peer URLs.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``id`` is not an int, or ``peer_urls`` not a list of strings.
        InvalidArgumentError: ``id`` does not fit a member ID (uint64).
    """
    request = _pb.rpc.MemberUpdateRequest(ID=check_member_id(id), peerURLs=_urls(peer_urls))
    return Call("cluster", "MemberUpdate", request, MemberUpdateResponse)


def member_promote(id: int) -> Call[MemberPromoteResponse]:
    """Describe the MemberPromote RPC.

    Args:
        id: the learner's member ID.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``id`` is not an int.
        InvalidArgumentError: ``id`` does not fit a member ID (uint64).
    """
    request = _pb.rpc.MemberPromoteRequest(ID=check_member_id(id))
    return Call("cluster", "MemberPromote", request, MemberPromoteResponse)
