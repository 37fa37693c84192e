"""Typed read-only views of the KV responses, and the mapping of a txn's responses to them.

Owns ``GetResponse``, ``PutResponse``, ``DeleteResponse``, ``CompactResponse`` and
``TxnResponse`` (re-exported by :mod:`etcd3py.kv` and :mod:`etcd3py.txn`). Each wraps the
protobuf message and reads fields on demand, as :mod:`etcd3py.models` explains; the list of
key-values is built once, on first access. No I/O.
"""

from __future__ import annotations

from typing import Generic, TypeAlias, TypeVar

from google.protobuf.message import Message
from typing_extensions import Self

from etcd3py import _pb
from etcd3py._pb_field import wrap_all
from etcd3py.errors import InternalError
from etcd3py.models import KeyValue, ResponseHeader

_M = TypeVar("_M", bound=Message)


class _View(Generic[_M]):
    """A read-only view over one response message; equal when the messages are."""

    __slots__ = ("_pb",)

    def __init__(self, pb: _M) -> None:
        self._pb = pb

    @classmethod
    def from_pb(cls, pb: _M) -> Self:
        """Wrap a response message (the view shares it; do not mutate it after).

        Args:
            pb: the message.

        Returns:
            The view.
        """
        return cls(pb)

    def to_pb(self) -> _M:
        """Return a copy of the wrapped message, free to modify.

        Returns:
            A new message of the wrapped type.
        """
        copy = type(self._pb)()
        copy.CopyFrom(self._pb)
        return copy

    @property
    def header(self) -> ResponseHeader:
        """The response header (``.revision`` is the store revision of the response)."""
        return ResponseHeader(self._pb.header)  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self._pb == other._pb)

    __hash__ = None  # type: ignore[assignment]


class GetResponse(_View[_pb.rpc.RangeResponse]):
    """The answer to a get.

    Attributes:
        header: the response header.
        kvs: the key-values read, in the requested order (empty with ``count_only``).
        count: how many keys are in the range (before ``limit``).
        more: whether ``limit`` left keys out.
    """

    __slots__ = ("_kvs",)

    def __init__(self, pb: _pb.rpc.RangeResponse) -> None:
        self._pb = pb  # _View's __init__, without the call
        self._kvs: list[KeyValue] | None = None

    @property
    def kvs(self) -> list[KeyValue]:
        """The key-values read (a new list on each access would cost; this one is shared)."""
        if self._kvs is None:
            self._kvs = wrap_all(KeyValue, self._pb.kvs)
        return self._kvs

    @property
    def count(self) -> int:
        """How many keys are in the range, before ``limit``."""
        return self._pb.count

    @property
    def more(self) -> bool:
        """Whether ``limit`` left keys out."""
        return self._pb.more

    def __repr__(self) -> str:
        return f"GetResponse(revision={self.header.revision}, count={self.count}, more={self.more})"


class PutResponse(_View[_pb.rpc.PutResponse]):
    """The answer to a put.

    Attributes:
        header: the response header (``.revision`` is the revision of the write).
        prev_kv: the key-value before the write, with ``prev_kv=True`` and when it existed.
    """

    __slots__ = ()

    @property
    def prev_kv(self) -> KeyValue | None:
        """The key-value before the write, or ``None``."""
        return KeyValue(self._pb.prev_kv) if self._pb.HasField("prev_kv") else None

    def __repr__(self) -> str:
        return f"PutResponse(revision={self.header.revision}, prev_kv={self.prev_kv!r})"


class DeleteResponse(_View[_pb.rpc.DeleteRangeResponse]):
    """The answer to a delete.

    Attributes:
        header: the response header.
        deleted: how many keys were deleted.
        prev_kvs: the deleted key-values, with ``prev_kv=True``.
    """

    __slots__ = ()

    @property
    def deleted(self) -> int:
        """How many keys were deleted."""
        return self._pb.deleted

    @property
    def prev_kvs(self) -> list[KeyValue]:
        """The deleted key-values (empty unless ``prev_kv=True``)."""
        return wrap_all(KeyValue, self._pb.prev_kvs)

    def __repr__(self) -> str:
        return f"DeleteResponse(revision={self.header.revision}, deleted={self.deleted})"


class CompactResponse(_View[_pb.rpc.CompactionResponse]):
    """The answer to a compaction.

    Attributes:
        header: the response header.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"CompactResponse(revision={self.header.revision})"


class TxnResponse(_View[_pb.rpc.TxnResponse]):
    """The answer to a transaction.

    Attributes:
        header: the response header.
        succeeded: whether every compare held (so ``then`` ran, not ``else_``).
        responses: the typed response of each op run, in order; a nested txn gives a
            ``TxnResponse``.
    """

    __slots__ = ()

    @property
    def succeeded(self) -> bool:
        """Whether every compare held."""
        return self._pb.succeeded

    @property
    def responses(self) -> list[OpResponse]:
        """The typed response of each op run, in order."""
        return [response_from_pb(r) for r in self._pb.responses]

    def __repr__(self) -> str:
        return (
            f"TxnResponse(revision={self.header.revision}, succeeded={self.succeeded}, "
            f"responses={self.responses!r})"
        )


#: The response of any op: what ``KV.do`` returns.
OpResponse: TypeAlias = GetResponse | PutResponse | DeleteResponse | TxnResponse


def response_from_pb(msg: _pb.rpc.ResponseOp) -> OpResponse:
    """Wrap one ``ResponseOp`` of a txn in its typed view.

    Args:
        msg: the message.

    Returns:
        The typed response.
    """
    which = msg.WhichOneof("response")
    if which == "response_range":
        return GetResponse(msg.response_range)
    if which == "response_put":
        return PutResponse(msg.response_put)
    if which == "response_delete_range":
        return DeleteResponse(msg.response_delete_range)
    return TxnResponse(msg.response_txn)


_Expected = TypeVar("_Expected", GetResponse, PutResponse, DeleteResponse, TxnResponse)


def expect(response: OpResponse, cls: type[_Expected]) -> _Expected:
    """Return a ``KV.do`` answer checked to be of the type its op asks (both faces' check).

    Args:
        response: what ``do`` answered.
        cls: the response type the op's kind answers with.

    Returns:
        The response.

    Raises:
        InternalError: ``do`` answered another type (a broken ``KV`` implementation).
    """
    if not isinstance(response, cls):
        raise InternalError(f"KV.do answered {type(response).__name__}, expected {cls.__name__}")
    return response
