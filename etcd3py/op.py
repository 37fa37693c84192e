"""Operations: :class:`Op` and its factories, with every option validated when it is built.

Owns the option sets (declared once, as TypedDicts that the KV methods forward with
``**opts: Unpack[...]``), their checks (clientv3 ``op.go`` and the server's
``checkRangeRequest``/``checkPutRequest``: a bad combination raises a typed error before
anything is sent), and the request messages each Op builds. No I/O.

Example::

    client.do(Op.get("/jobs/", prefix=True, limit=10))
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from operator import is_
from typing import TypeVar

from typing_extensions import TypedDict

from etcd3py import _pb
from etcd3py._ints import LeaseLike, check_int, lease_id
from etcd3py._keys import ALL_KEYS_START, FROM_KEY_END, KeyLike, prefix_range_end, to_bytes
from etcd3py.compare import Cmp, CompareOperand
from etcd3py.errors import (
    ArgumentTypeError,
    EmptyKeyError,
    InvalidArgumentError,
    LeaseProvidedError,
    ValueProvidedError,
)
from etcd3py.models import SortOrder, SortTarget

__all__ = ["DeleteOptions", "GetOptions", "Op", "OpType", "PutOptions"]

_T = TypeVar("_T")


class GetOptions(TypedDict, total=False):
    """Options of a range read (``Op.get``, ``KV.get``); every one is keyword-only.

    Attributes:
        prefix: read every key starting with the key (the empty key: every key).
        range_end: read the keys in ``[key, range_end)``.
        from_key: read every key ``>= key`` (the empty key: every key).
        rev: read at this revision (0: the current one).
        limit: return at most this many keys (0: no limit).
        sort_target: the field to sort by.
        sort_order: the sort order (``KEY`` ascending is the server's default order).
        keys_only: return keys without values.
        count_only: return only the count.
        serializable: read from the member answering, without a quorum (may be stale).
        min_mod_revision: drop keys modified before this revision.
        max_mod_revision: drop keys modified after this revision.
        min_create_revision: drop keys created before this revision.
        max_create_revision: drop keys created after this revision.
    """

    prefix: bool
    range_end: KeyLike | None
    from_key: bool
    rev: int
    limit: int
    sort_target: SortTarget
    sort_order: SortOrder
    keys_only: bool
    count_only: bool
    serializable: bool
    min_mod_revision: int
    max_mod_revision: int
    min_create_revision: int
    max_create_revision: int


class PutOptions(TypedDict, total=False):
    """Options of a write (``Op.put``, ``KV.put``).

    Attributes:
        lease: attach the key to this lease: its ID, or the grant response (0: none).
        prev_kv: return the key-value as it was before the write.
        ignore_value: keep the current value (the value passed must be empty).
        ignore_lease: keep the current lease (``lease`` must be 0).
    """

    lease: LeaseLike
    prev_kv: bool
    ignore_value: bool
    ignore_lease: bool


class DeleteOptions(TypedDict, total=False):
    """Options of a delete (``Op.delete``, ``KV.delete``).

    Attributes:
        prefix: delete every key starting with the key (the empty key: every key).
        range_end: delete the keys in ``[key, range_end)``.
        from_key: delete every key ``>= key`` (the empty key: every key).
        prev_kv: return the deleted key-values.
    """

    prefix: bool
    range_end: KeyLike | None
    from_key: bool
    prev_kv: bool


class OpType(enum.Enum):
    """What an :class:`Op` does."""

    GET = "get"
    PUT = "put"
    DELETE = "delete"
    TXN = "txn"


# OpType's members as module constants, for the per-call paths: on Python 3.11 reading an
# enum's member from its class goes through the metaclass (about 150 ns; a constant, 15).
_GET, _PUT, _DELETE, _TXN = OpType.GET, OpType.PUT, OpType.DELETE, OpType.TXN

_BOOL_OPTIONS = frozenset(
    {"prefix", "from_key", "keys_only", "count_only", "serializable", "prev_kv"}
    | {"ignore_value", "ignore_lease"}
    | {"filter_put", "filter_delete", "progress_notify", "created_notify", "fragment"}  # watch
)
_INT_OPTIONS = frozenset(
    {"rev", "limit", "lease", "min_mod_revision", "max_mod_revision"}
    | {"min_create_revision", "max_create_revision"}
)


def _check_options(
    kind: str, opts: Mapping[str, object], allowed: frozenset[str]
) -> dict[str, object]:
    """Return the options with each checked: known, of its type, an ``int64`` where an int.

    ``lease`` becomes its ID (a grant response gives its ``.id``), so an Op holds plain values.
    """
    if not opts.keys() <= allowed:
        unknown = sorted(set(opts) - allowed)
        raise ArgumentTypeError(f"{kind} got unexpected option(s): {', '.join(unknown)}")
    checked = dict(opts)
    for name, value in opts.items():
        if name in _BOOL_OPTIONS and not isinstance(value, bool):
            raise ArgumentTypeError(f"{name} must be a bool, not {type(value).__name__}")
        if name == "lease":
            checked[name] = lease_id(value, name)
        elif name in _INT_OPTIONS:
            check_int(name, value)
    return checked


# Each option's default. An Op keeps (and checks) only the options given a value other than
# their default (by identity: ``False``, ``None``, small ints and enum members are
# singletons), so ``Op.get("k", limit=0) == Op.get("k")`` and a plain get checks nothing.
_GET_DEFAULTS: dict[str, object] = {
    "prefix": False,
    "range_end": None,
    "from_key": False,
    "rev": 0,
    "limit": 0,
    "sort_target": SortTarget.KEY,
    "sort_order": SortOrder.NONE,
    "keys_only": False,
    "count_only": False,
    "serializable": False,
    "min_mod_revision": 0,
    "max_mod_revision": 0,
    "min_create_revision": 0,
    "max_create_revision": 0,
}
_PUT_DEFAULTS: dict[str, object] = {
    "lease": 0,
    "prev_kv": False,
    "ignore_value": False,
    "ignore_lease": False,
}
_DELETE_DEFAULTS: dict[str, object] = {
    "prefix": False,
    "range_end": None,
    "from_key": False,
    "prev_kv": False,
}
_RANGE_OPTIONS = ("prefix", "from_key", "range_end")  # folded into the key range


_GET_ALLOWED = frozenset(_GET_DEFAULTS)
_PUT_ALLOWED = frozenset(_PUT_DEFAULTS)
_DELETE_ALLOWED = frozenset(_DELETE_DEFAULTS)


def _off_default(defaults: Mapping[str, object], values: tuple[object, ...]) -> dict[str, object]:
    """The options whose value is not their default (``values`` in ``defaults``' order)."""
    if all(map(is_, values, defaults.values())):
        return {}  # the common call with no option: checked at C speed
    return {
        name: value
        for (name, default), value in zip(defaults.items(), values)  # noqa: B905 (same length)
        if value is not default
    }


def _enum_option(cls: type[SortTarget] | type[SortOrder], value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name} must be a {cls.__name__}, not {type(value).__name__}")
    try:
        return int(cls(value))
    except ValueError:
        raise InvalidArgumentError(f"{name} {value} is not a valid {cls.__name__}") from None


def _key_range(key: KeyLike, opts: Mapping[str, object]) -> tuple[bytes, bytes]:
    """Return (key, range_end) after the prefix/range_end/from_key checks of clientv3."""
    raw = to_bytes(key)
    prefix, from_key = opts.get("prefix", False), opts.get("from_key", False)
    range_end = opts.get("range_end")
    if prefix and from_key:
        raise InvalidArgumentError("prefix and from_key cannot be set at the same time")
    if range_end is not None and (prefix or from_key):
        other = "prefix" if prefix else "from_key"
        raise InvalidArgumentError(f"range_end and {other} cannot be set at the same time")
    if prefix or from_key:
        if not raw:  # clientv3: the empty key with a prefix or from-key means every key
            return ALL_KEYS_START, FROM_KEY_END
        return raw, prefix_range_end(raw) if prefix else FROM_KEY_END
    if range_end is None:
        return _single_key(raw), b""
    return _single_key(raw), to_bytes(range_end, "range_end")


def _single_key(raw: bytes) -> bytes:
    """``raw``, the key of a single-key op: never empty."""
    if not raw:
        raise EmptyKeyError(EmptyKeyError.etcd_message)
    return raw


@dataclass(frozen=True, slots=True, init=False)
class Op:
    """One operation (get, put, delete or txn), validated and immutable.

    Build it with :meth:`get`, :meth:`put`, :meth:`delete` or :meth:`txn`, then pass it to
    ``client.do(op)`` or a transaction's ``then``/``else_``. Fields not used by its type keep
    their defaults.

    Attributes:
        type: what the op does.
        key: the key, or the start of the range.
        range_end: the end of the range (exclusive), empty for a single key.
        value: the value written by a put.
        options: the remaining options, by name (``rev``, ``limit``, ``lease``...), as given.
        compares: the conditions of a txn.
        then: the ops of a txn run when every compare holds.
        else_: the ops of a txn run otherwise.
    """

    type: OpType
    key: bytes = b""
    range_end: bytes = b""
    value: bytes = b""
    options: tuple[tuple[str, object], ...] = ()
    compares: tuple[Cmp, ...] = ()
    then: tuple[Op, ...] = ()
    else_: tuple[Op, ...] = ()

    def __init__(
        self,
        type: OpType,
        key: bytes = b"",
        range_end: bytes = b"",
        value: bytes = b"",
        options: tuple[tuple[str, object], ...] = (),
        compares: tuple[Cmp, ...] = (),
        then: tuple[Op, ...] = (),
        else_: tuple[Op, ...] = (),
    ) -> None:
        """Make an op from checked parts (users build ops with :meth:`get`, :meth:`put`...)."""
        # What the frozen dataclass's own __init__ does, each field set through its slot's
        # descriptor rather than object.__setattr__ (8k machine instructions, not 13k: a
        # get or a put builds one op per call).
        set_type, set_key, set_end, set_value, set_opts, set_cmps, set_then, set_else = _SETTERS
        set_type(self, type)
        set_key(self, key)
        set_end(self, range_end)
        set_value(self, value)
        set_opts(self, options)
        set_cmps(self, compares)
        set_then(self, then)
        set_else(self, else_)

    @staticmethod
    def get(
        key: KeyLike,
        *,
        prefix: bool = False,
        range_end: KeyLike | None = None,
        from_key: bool = False,
        rev: int = 0,
        limit: int = 0,
        sort_target: SortTarget = SortTarget.KEY,
        sort_order: SortOrder = SortOrder.NONE,
        keys_only: bool = False,
        count_only: bool = False,
        serializable: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> Op:
        """Build a range read of ``key`` (each option as in :class:`GetOptions`).

        Args:
            key: the key, or the start of the range.
            prefix: read every key starting with the key (the empty key: every key).
            range_end: read the keys in ``[key, range_end)``.
            from_key: read every key ``>= key`` (the empty key: every key).
            rev: read at this revision (0: the current one).
            limit: return at most this many keys (0: no limit).
            sort_target: the field to sort by.
            sort_order: the sort order (``KEY`` ascending is the server's default order).
            keys_only: return keys without values.
            count_only: return only the count.
            serializable: read from the member answering, without a quorum (may be stale).
            min_mod_revision: drop keys modified before this revision.
            max_mod_revision: drop keys modified after this revision.
            min_create_revision: drop keys created before this revision.
            max_create_revision: drop keys created after this revision.

        Returns:
            The op.

        Raises:
            ArgumentTypeError: an argument of the wrong type, or an unknown option.
            EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
            InvalidArgumentError: conflicting range options, a revision, limit or revision
                bound that is negative or past ``2**63 - 1``, or an unknown sort target or order.
        """
        return _get_op(
            key,
            (
                prefix,
                range_end,
                from_key,
                rev,
                limit,
                sort_target,
                sort_order,
                keys_only,
                count_only,
                serializable,
                min_mod_revision,
                max_mod_revision,
                min_create_revision,
                max_create_revision,
            ),
        )

    @staticmethod
    def put(
        key: KeyLike,
        value: KeyLike,
        *,
        lease: LeaseLike = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> Op:
        """Build a write of ``value`` at ``key`` (each option as in :class:`PutOptions`).

        Args:
            key: the key.
            value: the value (``str`` is encoded UTF-8); empty with ``ignore_value=True``.
            lease: attach the key to this lease: its ID or its grant response (the op keeps
                the ID; 0: none).
            prev_kv: return the key-value as it was before the write.
            ignore_value: keep the current value (the value passed must be empty).
            ignore_lease: keep the current lease (``lease`` must be 0).

        Returns:
            The op.

        Raises:
            ArgumentTypeError: an argument of the wrong type, or an unknown option.
            EmptyKeyError: the key is empty.
            ValueProvidedError: ``ignore_value=True`` with a non-empty value.
            LeaseProvidedError: ``ignore_lease=True`` with a lease.
            InvalidArgumentError: a lease ID that is negative or past ``2**63 - 1``.
        """
        return _put_op(key, value, (lease, prev_kv, ignore_value, ignore_lease))

    @staticmethod
    def delete(
        key: KeyLike,
        *,
        prefix: bool = False,
        range_end: KeyLike | None = None,
        from_key: bool = False,
        prev_kv: bool = False,
    ) -> Op:
        """Build a delete of ``key`` or a range (each option as in :class:`DeleteOptions`).

        Args:
            key: the key, or the start of the range.
            prefix: delete every key starting with the key (the empty key: every key).
            range_end: delete the keys in ``[key, range_end)``.
            from_key: delete every key ``>= key`` (the empty key: every key).
            prev_kv: return the deleted key-values.

        Returns:
            The op.

        Raises:
            ArgumentTypeError: an argument of the wrong type, or an unknown option.
            EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
            InvalidArgumentError: conflicting range options.
        """
        opts = _off_default(_DELETE_DEFAULTS, (prefix, range_end, from_key, prev_kv))
        checked = _check_options("delete", opts, _DELETE_ALLOWED)
        raw, end = _key_range(key, checked)
        kept = tuple((k, v) for k, v in checked.items() if k not in _RANGE_OPTIONS)
        return Op(_DELETE, raw, end, options=kept)

    @staticmethod
    def txn(compares: Iterable[Cmp], then: Iterable[Op], else_: Iterable[Op] = ()) -> Op:
        """Build a transaction: if every compare holds run ``then``, else ``else_``.

        Args:
            compares: the conditions (built with :class:`~etcd3py.Compare`).
            then: the ops run when every compare holds.
            else_: the ops run otherwise.

        Returns:
            The op; a txn op may be nested in another txn.

        Raises:
            ArgumentTypeError: a compare not built with :class:`~etcd3py.Compare` and an
                operator, or an op that is not an ``Op``.
        """
        cmps, ops_then, ops_else = _items(compares, Cmp), _items(then, Op), _items(else_, Op)
        return Op(_TXN, compares=cmps, then=ops_then, else_=ops_else)

    def option(self, name: str, default: object = None) -> object:
        """Return the option ``name`` as given when the op was built, or ``default``.

        Args:
            name: an option name of :class:`GetOptions`, :class:`PutOptions` or
                :class:`DeleteOptions`.
            default: returned when the option was not given.

        Returns:
            The option's value.
        """
        for key, value in self.options:
            if key == name:
                return value
        return default

    def to_request_op(self) -> _pb.rpc.RequestOp:
        """Build the ``etcdserverpb.RequestOp`` that carries this op in a txn.

        Returns:
            A new message.
        """
        if self.type is _GET:
            return _pb.rpc.RequestOp(request_range=self.to_range_request())
        if self.type is _PUT:
            return _pb.rpc.RequestOp(request_put=self.to_put_request())
        if self.type is _DELETE:
            return _pb.rpc.RequestOp(request_delete_range=self.to_delete_request())
        return _pb.rpc.RequestOp(request_txn=self.to_txn_request())

    def to_range_request(self) -> _pb.rpc.RangeRequest:
        """Build the ``RangeRequest`` of a get op.

        Returns:
            A new message.
        """
        if not self.options:  # the common get: the key range alone
            return _pb.rpc.RangeRequest(key=self.key, range_end=self.range_end)
        opts = dict(self.options)
        target = int(opts.pop("sort_target", SortTarget.KEY))  # type: ignore[call-overload]
        order = int(opts.pop("sort_order", SortOrder.NONE))  # type: ignore[call-overload]
        if target == SortTarget.KEY and order == SortOrder.ASCEND:
            order = SortOrder.NONE  # as clientv3: the server's default order already
        msg = _pb.rpc.RangeRequest(key=self.key, range_end=self.range_end)
        msg.sort_target, msg.sort_order = target, order
        for name, value in opts.items():
            setattr(msg, "revision" if name == "rev" else name, value)
        return msg

    def to_put_request(self) -> _pb.rpc.PutRequest:
        """Build the ``PutRequest`` of a put op.

        Returns:
            A new message.
        """
        msg = _pb.rpc.PutRequest(key=self.key, value=self.value)
        for name, value in self.options:
            setattr(msg, name, value)
        return msg

    def to_delete_request(self) -> _pb.rpc.DeleteRangeRequest:
        """Build the ``DeleteRangeRequest`` of a delete op.

        Returns:
            A new message.
        """
        return _pb.rpc.DeleteRangeRequest(
            key=self.key, range_end=self.range_end, prev_kv=bool(self.option("prev_kv", False))
        )

    def to_txn_request(self) -> _pb.rpc.TxnRequest:
        """Build the ``TxnRequest`` of a txn op.

        Returns:
            A new message.
        """
        return _pb.rpc.TxnRequest(
            compare=[c.to_pb() for c in self.compares],
            success=[op.to_request_op() for op in self.then],
            failure=[op.to_request_op() for op in self.else_],
        )


_GET_DEFAULT_VALUES = tuple(_GET_DEFAULTS.values())
_PUT_DEFAULT_VALUES = tuple(_PUT_DEFAULTS.values())


def _plain_get(key: KeyLike, options: tuple[object, ...]) -> bytes | None:
    """The checked key of a get with no option set (the common call), else None.

    ``Op(GET, key)`` is then the whole op; the gRPC KV of each face sends its request with
    no op built (:func:`etcd3py._calls.kv.get_key`). ``options`` as :func:`_get_op`'s.

    Raises:
        ArgumentTypeError: the key is neither str nor bytes.
        EmptyKeyError: the key is empty.
    """
    if not all(map(is_, options, _GET_DEFAULT_VALUES)):  # checked at C speed
        return None
    return _single_key(to_bytes(key))


def _plain_put(
    key: KeyLike, value: KeyLike, options: tuple[object, ...]
) -> tuple[bytes, bytes] | None:
    """The checked key and value of a put with no option set (the common call), else None.

    As :func:`_plain_get`, for ``Op(PUT, key, value=value)``; ``options`` as :func:`_put_op`'s.
    """
    if not all(map(is_, options, _PUT_DEFAULT_VALUES)):
        return None
    return _single_key(to_bytes(key)), to_bytes(value, "value")


def _get_op(key: KeyLike, options: tuple[object, ...]) -> Op:
    """:meth:`Op.get` with its options given in one tuple, in :class:`GetOptions`' order.

    The path of ``kv.get`` in both faces: one tuple to build rather than fourteen keyword
    arguments to pass again (each face's method has them already).
    """
    raw = _plain_get(key, options)
    if raw is not None:  # the common get of one key: only the key to check
        return Op(_GET, raw)
    opts = _off_default(_GET_DEFAULTS, options)
    checked = _check_options("get", opts, _GET_ALLOWED)
    if "sort_target" in checked:
        _enum_option(SortTarget, checked["sort_target"], "sort_target")
    if "sort_order" in checked:
        _enum_option(SortOrder, checked["sort_order"], "sort_order")
    raw, end = _key_range(key, checked)
    kept = tuple((k, v) for k, v in checked.items() if k not in _RANGE_OPTIONS)
    return Op(_GET, raw, end, options=kept)


def _put_op(key: KeyLike, value: KeyLike, options: tuple[object, ...]) -> Op:
    """:meth:`Op.put` with its options given in one tuple, in :class:`PutOptions`' order."""
    plain = _plain_put(key, value, options)
    if plain is not None:  # the common put: nothing more to check
        return Op(_PUT, plain[0], value=plain[1])
    raw = _single_key(to_bytes(key))
    data = to_bytes(value, "value")
    opts = _off_default(_PUT_DEFAULTS, options)
    checked = _check_options("put", opts, _PUT_ALLOWED)
    if checked.get("ignore_value") and data:
        raise ValueProvidedError(ValueProvidedError.etcd_message)
    if checked.get("ignore_lease") and checked.get("lease"):
        raise LeaseProvidedError(LeaseProvidedError.etcd_message)
    # a grant response whose ID is 0 means no lease, as the default does
    kept = tuple((k, v) for k, v in checked.items() if not (k == "lease" and v == 0))
    return Op(_PUT, raw, value=data, options=kept)


#: Each field's slot setter, in the order of Op's fields (Op.__init__ sets them).
_SETTERS: tuple[Callable[[Op, object], None], ...] = tuple(
    Op.__dict__[field.name].__set__ for field in fields(Op)
)


def _items(values: Iterable[_T], cls: type[_T]) -> tuple[_T, ...]:
    what = "compares (Compare.value(k) == v...)" if cls is Cmp else "ops (Op.get(k)...)"
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ArgumentTypeError(f"expected an iterable of {what}, not {_describe(values)}")
    items = tuple(values)
    for item in items:
        if not isinstance(item, cls):
            raise ArgumentTypeError(f"expected {what}, not {_describe(item)}")
    return items


def _describe(value: object) -> str:
    """Name what the user passed, in the API's words (never an internal class name)."""
    if isinstance(value, Cmp):
        return "a compare"
    if isinstance(value, CompareOperand):
        return "a compare target without ==, !=, < or > (e.g. Compare.version(k) > 0)"
    if isinstance(value, Op):
        return f"Op.{value.type.value}"
    return type(value).__name__
