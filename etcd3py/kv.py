"""The KV concern: the abstract :class:`KV`, its gRPC implementation, and the KV responses.

Owns ``put``/``get``/``delete``/``txn`` written once on top of the abstract
:meth:`KV.do` (as clientv3 ``kv.go``), so a wrapper such as the namespace KV implements only
``do`` and ``compact``. :class:`GrpcKV` sends each op through the transport (ranges and
read-only txns are retried on ``UNAVAILABLE``; writes only when never sent). Validation
happens when the :class:`~etcd3py.Op` is built, before anything is sent.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, TypeVar

from typing_extensions import Unpack

from etcd3py import _pb
from etcd3py._keys import KeyLike
from etcd3py._responses import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
    TxnResponse,
)
from etcd3py._transport import check_timeout
from etcd3py.errors import ArgumentTypeError, InternalError, InvalidArgumentError
from etcd3py.op import DeleteOptions, GetOptions, Op, OpType, PutOptions
from etcd3py.txn import Txn

if TYPE_CHECKING:
    from etcd3py._transport import Transport

__all__ = [
    "CompactResponse",
    "DeleteResponse",
    "GetResponse",
    "GrpcKV",
    "KV",
    "OpResponse",
    "PutResponse",
]

_R = TypeVar("_R", GetResponse, PutResponse, DeleteResponse, TxnResponse)


def _expect(response: OpResponse, cls: type[_R]) -> _R:
    if not isinstance(response, cls):
        raise InternalError(f"KV.do answered {type(response).__name__}, expected {cls.__name__}")
    return response


class KV(abc.ABC):
    """Reads and writes of keys, as clientv3's ``KV`` interface.

    Subclasses implement :meth:`do` and :meth:`compact`; everything else is built on them.
    """

    @abc.abstractmethod
    def do(self, op: Op, *, timeout: float | None = None) -> OpResponse:
        """Run one op and return its typed response.

        Args:
            op: the op (``Op.get``, ``Op.put``, ``Op.delete`` or ``Op.txn``).
            timeout: seconds for the call, retries included (``None``: no limit).

        Returns:
            A ``GetResponse``, ``PutResponse``, ``DeleteResponse`` or ``TxnResponse``.

        Raises:
            EtcdError: the server's or the transport's failure, typed.
        """

    @abc.abstractmethod
    def compact(
        self, rev: int, *, physical: bool = False, timeout: float | None = None
    ) -> CompactResponse:
        """Compact the key-value history up to ``rev``.

        Args:
            rev: the revision; older revisions of keys can no longer be read or watched.
            physical: wait until the compaction is applied to the backend before answering.
            timeout: seconds for the call.

        Returns:
            The response.

        Raises:
            CompactedError: ``rev`` is already compacted.
            FutureRevisionError: ``rev`` is newer than the current revision.
        """

    def get(
        self, key: KeyLike, *, timeout: float | None = None, **opts: Unpack[GetOptions]
    ) -> GetResponse:
        """Read a key or a range (options: :class:`~etcd3py.op.GetOptions`).

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call, retries included.
            **opts: ``prefix``, ``range_end``, ``from_key``, ``rev``, ``limit``, sorting...

        Returns:
            The key-values read.

        Raises:
            InvalidArgumentError: a bad option (see ``Op.get``), before anything is sent.
            CompactedError: ``rev`` is compacted.
            FutureRevisionError: ``rev`` is in the future.
        """
        return _expect(self.do(Op.get(key, **opts), timeout=timeout), GetResponse)

    def put(
        self,
        key: KeyLike,
        value: KeyLike,
        *,
        timeout: float | None = None,
        **opts: Unpack[PutOptions],
    ) -> PutResponse:
        """Write ``value`` at ``key`` (options: :class:`~etcd3py.op.PutOptions`).

        Args:
            key: the key.
            value: the value.
            timeout: seconds for the call.
            **opts: ``lease``, ``prev_kv``, ``ignore_value``, ``ignore_lease``.

        Returns:
            The response (``.header.revision`` is the write's revision).

        Raises:
            InvalidArgumentError: a bad option (see ``Op.put``), before anything is sent.
            KeyNotFoundError: ``ignore_value``/``ignore_lease`` on a key that does not exist.
            LeaseNotFoundError: the lease does not exist.
            RequestTooLargeError: the request exceeds the server's or gRPC's size limit.
        """
        return _expect(self.do(Op.put(key, value, **opts), timeout=timeout), PutResponse)

    def delete(
        self, key: KeyLike, *, timeout: float | None = None, **opts: Unpack[DeleteOptions]
    ) -> DeleteResponse:
        """Delete a key or a range (options: :class:`~etcd3py.op.DeleteOptions`).

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call.
            **opts: ``prefix``, ``range_end``, ``from_key``, ``prev_kv``.

        Returns:
            The response (``.deleted`` counts the keys deleted).

        Raises:
            InvalidArgumentError: a bad option (see ``Op.delete``), before anything is sent.
        """
        return _expect(self.do(Op.delete(key, **opts), timeout=timeout), DeleteResponse)

    def txn(self) -> Txn:
        """Start a transaction: ``kv.txn().if_(...).then(...).else_(...).commit()``.

        Returns:
            A new transaction builder.
        """
        return Txn(self)


def _is_read_only(op: Op) -> bool:
    if op.type is OpType.GET:
        return True
    if op.type is OpType.TXN:
        return all(_is_read_only(child) for child in op.then + op.else_)
    return False


class GrpcKV(KV):
    """The KV of a client, over its gRPC connection."""

    def __init__(self, transport: Transport) -> None:
        """Serve KV calls through ``transport``.

        Args:
            transport: the client's transport.
        """
        self._transport = transport

    def do(self, op: Op, *, timeout: float | None = None) -> OpResponse:
        """Run one op over gRPC; see :meth:`KV.do`.

        Args:
            op: the op.
            timeout: seconds for the call, retries included.

        Returns:
            The typed response.

        Raises:
            ArgumentTypeError: ``op`` is not an ``Op``.
        """
        if not isinstance(op, Op):
            raise ArgumentTypeError(f"do() takes an Op, not {type(op).__name__}")
        check_timeout(timeout)
        t, stub = self._transport, self._transport.kv
        if op.type is OpType.GET:
            rng = t.call(stub.Range, op.to_range_request(), timeout=timeout, repeatable=True)
            return GetResponse(rng)
        if op.type is OpType.PUT:
            return PutResponse(t.call(stub.Put, op.to_put_request(), timeout=timeout))
        if op.type is OpType.DELETE:
            return DeleteResponse(t.call(stub.DeleteRange, op.to_delete_request(), timeout=timeout))
        request = op.to_txn_request()
        txn = t.call(stub.Txn, request, timeout=timeout, repeatable=_is_read_only(op))
        return TxnResponse(txn)

    def compact(
        self, rev: int, *, physical: bool = False, timeout: float | None = None
    ) -> CompactResponse:
        """Compact the history up to ``rev``; see :meth:`KV.compact`.

        Args:
            rev: the revision.
            physical: wait until the backend applied it.
            timeout: seconds for the call.

        Returns:
            The response.

        Raises:
            ArgumentTypeError: ``rev`` is not an int or ``physical`` not a bool.
            InvalidArgumentError: ``rev`` is negative.
        """
        if isinstance(rev, bool) or not isinstance(rev, int):
            raise ArgumentTypeError(f"rev must be an int, not {type(rev).__name__}")
        if rev < 0:
            raise InvalidArgumentError(f"rev must not be negative, got {rev}")
        if not isinstance(physical, bool):
            raise ArgumentTypeError(f"physical must be a bool, not {type(physical).__name__}")
        check_timeout(timeout)
        request = _pb.rpc.CompactionRequest(revision=rev, physical=physical)
        return CompactResponse(
            self._transport.call(self._transport.kv.Compact, request, timeout=timeout)
        )
