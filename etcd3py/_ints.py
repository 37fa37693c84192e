"""Integers as etcd's protobuf fields hold them, checked at the call: ``int64``, ``uint64``,
lease IDs (an ``int`` or anything with an ``.id``, such as a grant response).

Owns the one rule for integer arguments: a ``bool`` or a non-``int`` is an
:class:`~etcd3py.errors.ArgumentTypeError`; a value the field cannot hold (negative where
etcd wants none, past 2**63-1) is an :class:`~etcd3py.errors.InvalidArgumentError` naming
the argument, never protobuf's own ``ValueError``. No I/O; imports only ``etcd3py.errors``.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

from etcd3py.errors import ArgumentTypeError, InvalidArgumentError

__all__ = ["INT64_MAX", "HasID", "LeaseLike", "check_int", "lease_id"]

#: The largest value of an ``int64`` field (revisions, TTLs, lease IDs, limits).
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@runtime_checkable
class HasID(Protocol):
    """Anything with an integer ``id``: a ``LeaseGrantResponse``, a ``KeepAlive``..."""

    @property
    def id(self) -> int: ...


#: A lease as the user passes it: its ID, or a response that carries it (``.id``).
LeaseLike: TypeAlias = int | HasID


def check_int(name: str, value: object, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """Return ``value`` if it is an ``int`` within ``[minimum, maximum]``.

    Args:
        name: the argument's name, for the message.
        value: the user's argument.
        minimum: the smallest value allowed (0 by default: etcd's revisions, limits, IDs).
        maximum: the largest value allowed (``int64``'s by default).

    Returns:
        The value.

    Raises:
        ArgumentTypeError: ``value`` is a ``bool`` or not an ``int``.
        InvalidArgumentError: ``value`` is out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        if minimum == 0:
            raise InvalidArgumentError(f"{name} must not be negative, got {value}")
        raise InvalidArgumentError(f"{name} must be at least {minimum}, got {value}")
    if value > maximum:
        raise InvalidArgumentError(f"{name} must be at most {maximum}, got {value}")
    return value


def lease_id(value: object, name: str = "lease") -> int:
    """Return the lease ID of ``value``: an ``int``, or the ``.id`` of a grant response.

    Args:
        value: the user's argument.
        name: the argument's name, for the message.

    Returns:
        The ID (0 means "no lease" where a lease is optional).

    Raises:
        ArgumentTypeError: neither an ``int`` nor something with an ``int`` ``.id``.
        InvalidArgumentError: a negative ID or one past ``int64``.
    """
    if not isinstance(value, int) and isinstance(value, HasID):
        value = value.id
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(
            f"{name} must be a lease ID (int) or a grant response, not {type(value).__name__}"
        )
    return check_int(name, value)
