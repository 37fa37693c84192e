"""The compare DSL of transactions: ``Compare.value(key) == b"v"`` builds a frozen :class:`Cmp`.

Owns the compare targets and the immutable :class:`Cmp` they build (clientv3 ``compare.go``),
with type and range checks when a compare is built, before anything is sent. No I/O.

A compare only means something to the server: neither a target nor a :class:`Cmp` has a
truth value, so ``if Compare.value(k) == "x":`` or ``Compare.version(k) in [1, 2]`` raises
``TypeError`` instead of being always true.

Example::

    client.txn().if_(Compare.version("/k") == 0).then(Op.put("/k", "v")).commit()
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from etcd3py import _pb
from etcd3py._ints import INT64_MIN, check_int
from etcd3py._keys import ALL_KEYS_START, KeyLike, prefix_range_end, to_bytes
from etcd3py.errors import ArgumentTypeError, EmptyKeyError, InvalidArgumentError

__all__ = ["Cmp", "Compare", "CompareOperand", "CompareResult", "CompareTarget"]


class CompareResult(enum.IntEnum):
    """The relation a compare checks (``Compare.CompareResult``)."""

    EQUAL = 0
    GREATER = 1
    LESS = 2
    NOT_EQUAL = 3


class CompareTarget(enum.IntEnum):
    """The field of a key a compare looks at (``Compare.CompareTarget``)."""

    VERSION = 0
    CREATE = 1
    MOD = 2
    VALUE = 3
    LEASE = 4


_PB_FIELD = {
    CompareTarget.VERSION: "version",
    CompareTarget.CREATE: "create_revision",
    CompareTarget.MOD: "mod_revision",
    CompareTarget.VALUE: "value",
    CompareTarget.LEASE: "lease",
}


@dataclass(frozen=True, slots=True)
class Cmp:
    """One condition of a transaction: ``target(key) result operand``, immutable.

    Attributes:
        target: the field compared.
        result: the relation checked.
        key: the key (or the start of the range) compared.
        operand: bytes for a value compare, an int for the others.
        range_end: the end of the range compared, empty for a single key.
    """

    target: CompareTarget
    result: CompareResult
    key: bytes
    operand: bytes | int
    range_end: bytes = b""

    def __bool__(self) -> bool:
        """Refuse to be a truth value: a compare is checked by the server, in a transaction.

        Raises:
            ArgumentTypeError: always (a ``TypeError``).
        """
        raise ArgumentTypeError(
            "a compare has no truth value: pass it to a transaction, "
            "client.txn().if_(cmp).then(...).commit()"
        )

    def to_pb(self) -> _pb.rpc.Compare:
        """Build the ``etcdserverpb.Compare`` message sent for this condition.

        Returns:
            A new message.
        """
        msg = _pb.rpc.Compare(
            result=_pb.rpc.Compare.CompareResult.ValueType(self.result),
            target=_pb.rpc.Compare.CompareTarget.ValueType(self.target),
            key=self.key,
            range_end=self.range_end,
        )
        setattr(msg, _PB_FIELD[self.target], self.operand)
        return msg


@dataclass(frozen=True, slots=True, eq=False)  # its == builds a Cmp, so no dataclass __eq__
class CompareOperand:
    """A compare target on a key; its ``==``, ``!=``, ``<`` and ``>`` build a :class:`Cmp`.

    Attributes:
        target: the field compared.
        key: the key (or range start).
        range_end: the range end, empty for one key.
    """

    target: CompareTarget
    key: bytes
    range_end: bytes

    def _build(self, result: CompareResult, operand: object) -> Cmp:
        name = f"a {_PB_FIELD[self.target]} compare"
        if isinstance(operand, (Cmp, CompareOperand)):
            raise ArgumentTypeError(
                f"{name} takes a value on the right, not another compare "
                "(compares of two keys are not supported by etcd)"
            )
        if self.target is CompareTarget.VALUE:
            value: bytes | int = to_bytes(operand, "the value of a compare")
        elif isinstance(operand, bool) or not isinstance(operand, int):
            raise ArgumentTypeError(f"{name} takes an int, not {type(operand).__name__}")
        else:  # int64 fields on the wire: refused here, never by protobuf
            value = check_int(f"the operand of {name}", operand, minimum=INT64_MIN)
        return Cmp(self.target, result, self.key, value, self.range_end)

    def __bool__(self) -> bool:
        """Refuse to be a truth value (``if Compare.value(k):`` is a mistake).

        Raises:
            ArgumentTypeError: always (a ``TypeError``).
        """
        raise ArgumentTypeError(
            "a compare target has no truth value: apply ==, !=, < or > to a value and "
            "pass it to a transaction, client.txn().if_(Compare.value(k) == v)"
        )

    def __eq__(self, operand: object) -> Cmp:  # type: ignore[override]
        return self._build(CompareResult.EQUAL, operand)

    def __ne__(self, operand: object) -> Cmp:  # type: ignore[override]
        return self._build(CompareResult.NOT_EQUAL, operand)

    def __lt__(self, operand: object) -> Cmp:
        return self._build(CompareResult.LESS, operand)

    def __gt__(self, operand: object) -> Cmp:
        return self._build(CompareResult.GREATER, operand)

    __hash__ = None  # type: ignore[assignment]


def _operand(
    target: CompareTarget, key: KeyLike, prefix: bool, range_end: KeyLike | None
) -> CompareOperand:
    raw = to_bytes(key)
    if not isinstance(prefix, bool):
        raise ArgumentTypeError(f"prefix must be a bool, not {type(prefix).__name__}")
    if prefix and range_end is not None:
        raise InvalidArgumentError("prefix and range_end cannot be set at the same time")
    end = b"" if range_end is None else to_bytes(range_end, "range_end")
    if prefix:
        if not raw:
            return CompareOperand(target, ALL_KEYS_START, prefix_range_end(raw))
        end = prefix_range_end(raw)
    if not raw:
        raise EmptyKeyError(EmptyKeyError.etcd_message)
    return CompareOperand(target, raw, end)


class Compare:
    """Factories of compare targets, one per field (clientv3 ``Value``, ``Version``...).

    Each takes the key and ``prefix=True`` (every key under it) or ``range_end=`` (the keys
    in ``[key, range_end)``; a range compare holds when it holds for every key in the range).
    An empty key is refused with :class:`~etcd3py.errors.EmptyKeyError`, except with
    ``prefix=True``, which then means every key.
    """

    @staticmethod
    def value(
        key: KeyLike, *, prefix: bool = False, range_end: KeyLike | None = None
    ) -> CompareOperand:
        """Compare the value of ``key`` (operand: ``str`` or ``bytes``).

        Args:
            key: the key.
            prefix: compare every key with this prefix.
            range_end: compare every key in ``[key, range_end)``.

        Returns:
            The target; apply ``==``, ``!=``, ``<`` or ``>`` to get a :class:`Cmp`.

        Raises:
            ArgumentTypeError: a key or operand of the wrong type.
            InvalidArgumentError: ``prefix`` with ``range_end``.
        """
        return _operand(CompareTarget.VALUE, key, prefix, range_end)

    @staticmethod
    def version(
        key: KeyLike, *, prefix: bool = False, range_end: KeyLike | None = None
    ) -> CompareOperand:
        """Compare the version of ``key`` (0 when it does not exist); see :meth:`value`.

        Args:
            key: the key.
            prefix: compare every key with this prefix.
            range_end: compare every key in ``[key, range_end)``.

        Returns:
            The target; its operand is an ``int``.
        """
        return _operand(CompareTarget.VERSION, key, prefix, range_end)

    @staticmethod
    def create_revision(
        key: KeyLike, *, prefix: bool = False, range_end: KeyLike | None = None
    ) -> CompareOperand:
        """Compare the create revision of ``key`` (0 when it does not exist); see :meth:`value`.

        Args:
            key: the key.
            prefix: compare every key with this prefix.
            range_end: compare every key in ``[key, range_end)``.

        Returns:
            The target; its operand is an ``int``.
        """
        return _operand(CompareTarget.CREATE, key, prefix, range_end)

    @staticmethod
    def mod_revision(
        key: KeyLike, *, prefix: bool = False, range_end: KeyLike | None = None
    ) -> CompareOperand:
        """Compare the last modification revision of ``key``; see :meth:`value`.

        Args:
            key: the key.
            prefix: compare every key with this prefix.
            range_end: compare every key in ``[key, range_end)``.

        Returns:
            The target; its operand is an ``int``.
        """
        return _operand(CompareTarget.MOD, key, prefix, range_end)

    @staticmethod
    def lease(
        key: KeyLike, *, prefix: bool = False, range_end: KeyLike | None = None
    ) -> CompareOperand:
        """Compare the lease ID attached to ``key`` (0 for none); see :meth:`value`.

        Args:
            key: the key.
            prefix: compare every key with this prefix.
            range_end: compare every key in ``[key, range_end)``.

        Returns:
            The target; its operand is an ``int``.
        """
        return _operand(CompareTarget.LEASE, key, prefix, range_end)
