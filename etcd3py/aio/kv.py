"""The asyncio face's KV: the abstract :class:`KV` and :class:`GrpcKV`, awaited.

The same body as :mod:`etcd3py.kv`: ``get``/``put``/``delete``/``txn`` written on the
abstract :meth:`KV.do`, each op built and checked by :class:`~etcd3py.Op` before anything is
sent, each RPC described once in :mod:`etcd3py._calls.kv`, and the answer's type checked by
the shared :func:`etcd3py._responses.expect`. Only the waiting differs.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from etcd3py import kv as _sync
from etcd3py._calls import kv as calls
from etcd3py._ints import LeaseLike
from etcd3py._keys import KeyLike
from etcd3py._responses import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
    expect,
)
from etcd3py.aio.txn import Txn
from etcd3py.context import Context
from etcd3py.models import SortOrder, SortTarget
from etcd3py.op import Op, _get_op, _plain_get, _plain_put, _put_op

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport

__all__ = list(_sync.__all__)  # the same names: the class, and the views it answers with


class KV(abc.ABC):
    """Reads and writes of keys, awaited; see :class:`etcd3py.kv.KV`.

    Subclasses implement :meth:`do` and :meth:`compact`; everything else is built on them.
    """

    @abc.abstractmethod
    async def do(
        self, op: Op, *, timeout: float | None = None, ctx: Context | None = None
    ) -> OpResponse:
        """Run one op and return its typed response; see :meth:`etcd3py.kv.KV.do`."""

    @abc.abstractmethod
    async def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        """Compact the history up to ``rev``; see :meth:`etcd3py.kv.KV.compact`."""

    async def get(
        self,
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
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> GetResponse:
        """Read a key or a range; see :meth:`etcd3py.kv.KV.get`."""
        options = (
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
        )
        return await self._get(key, options, timeout, ctx)

    async def put(
        self,
        key: KeyLike,
        value: KeyLike,
        *,
        lease: LeaseLike = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> PutResponse:
        """Write ``value`` at ``key``; see :meth:`etcd3py.kv.KV.put`."""
        options = (lease, prev_kv, ignore_value, ignore_lease)
        return await self._put(key, value, options, timeout, ctx)

    async def delete(
        self,
        key: KeyLike,
        *,
        prefix: bool = False,
        range_end: KeyLike | None = None,
        from_key: bool = False,
        prev_kv: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> DeleteResponse:
        """Delete a key or a range; see :meth:`etcd3py.kv.KV.delete`."""
        op = Op.delete(key, prefix=prefix, range_end=range_end, from_key=from_key, prev_kv=prev_kv)
        return expect(await self.do(op, timeout=timeout, ctx=ctx), DeleteResponse)

    async def _get(
        self,
        key: KeyLike,
        options: tuple[object, ...],
        timeout: float | None,
        ctx: Context | None,
    ) -> GetResponse:
        """Run a get whose options are one tuple in ``GetOptions``' order: an op, via do().

        The gRPC KV sends the common get (no option) straight, with no op built.
        """
        return expect(await self.do(_get_op(key, options), timeout=timeout, ctx=ctx), GetResponse)

    async def _put(
        self,
        key: KeyLike,
        value: KeyLike,
        options: tuple[object, ...],
        timeout: float | None,
        ctx: Context | None,
    ) -> PutResponse:
        """Run a put whose options are one tuple in ``PutOptions``' order: an op, via do()."""
        op = _put_op(key, value, options)
        return expect(await self.do(op, timeout=timeout, ctx=ctx), PutResponse)

    def txn(self) -> Txn:
        """Start a transaction (``await ...commit()`` sends it); see :meth:`etcd3py.kv.KV.txn`."""
        return Txn(self)


class GrpcKV(KV):
    """The KV of an asyncio client, over its ``grpc.aio`` channel."""

    #: Whether a get or put with no option goes to its request with no op built: not in a
    #: subclass that overrides do(), which then sees every call, as KV's contract says.
    _plain_direct = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._plain_direct = cls.do is GrpcKV.do

    def __init__(self, transport: AioTransport) -> None:
        """Serve KV calls through ``transport``.

        Args:
            transport: the asyncio client's transport.
        """
        self._transport = transport

    async def do(
        self, op: Op, *, timeout: float | None = None, ctx: Context | None = None
    ) -> OpResponse:
        """Run one op over gRPC; see :meth:`etcd3py.kv.GrpcKV.do`."""
        return await self._transport.run(calls.do(op), timeout=timeout, ctx=ctx)

    async def _get(
        self,
        key: KeyLike,
        options: tuple[object, ...],
        timeout: float | None,
        ctx: Context | None,
    ) -> GetResponse:
        raw = _plain_get(key, options) if self._plain_direct else None
        if raw is None:
            return await super()._get(key, options, timeout, ctx)
        return await self._transport.run(calls.get_key(raw), timeout=timeout, ctx=ctx)

    async def _put(
        self,
        key: KeyLike,
        value: KeyLike,
        options: tuple[object, ...],
        timeout: float | None,
        ctx: Context | None,
    ) -> PutResponse:
        plain = _plain_put(key, value, options) if self._plain_direct else None
        if plain is None:
            return await super()._put(key, value, options, timeout, ctx)
        return await self._transport.run(calls.put_value(*plain), timeout=timeout, ctx=ctx)

    async def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        """Compact the history up to ``rev``; see :meth:`etcd3py.kv.KV.compact`."""
        return await self._transport.run(calls.compact(rev, physical), timeout=timeout, ctx=ctx)
