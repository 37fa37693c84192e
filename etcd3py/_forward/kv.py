"""The ``Client`` methods that forward to ``client.kv`` (``client.put`` is ``client.kv.put``)."""

from __future__ import annotations

from typing_extensions import Unpack

from etcd3py._keys import KeyLike
from etcd3py._responses import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
)
from etcd3py.context import Context
from etcd3py.kv import KV
from etcd3py.op import DeleteOptions, GetOptions, Op, PutOptions
from etcd3py.txn import Txn

__all__ = ["KVMethods"]


class KVMethods:
    """The KV methods of a client.

    Each method looks ``self.kv`` up on every call, so replacing ``client.kv`` changes
    what it does, as in clientv3. Each has the signature of the :class:`~etcd3py.kv.KV`
    method it forwards to; arguments, errors and the ``timeout``/``ctx`` rules are theirs.
    """

    kv: KV

    def get(
        self,
        key: KeyLike,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
        **opts: Unpack[GetOptions],
    ) -> GetResponse:
        """Read a key or a range: ``client.kv.get``; see :meth:`etcd3py.kv.KV.get`.

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.
            **opts: see :class:`~etcd3py.op.GetOptions`.

        Returns:
            The key-values read.
        """
        return self.kv.get(key, timeout=timeout, ctx=ctx, **opts)

    def put(
        self,
        key: KeyLike,
        value: KeyLike,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
        **opts: Unpack[PutOptions],
    ) -> PutResponse:
        """Write a key: ``client.kv.put``; see :meth:`etcd3py.kv.KV.put`.

        Args:
            key: the key.
            value: the value.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.
            **opts: see :class:`~etcd3py.op.PutOptions`.

        Returns:
            The response.
        """
        return self.kv.put(key, value, timeout=timeout, ctx=ctx, **opts)

    def delete(
        self,
        key: KeyLike,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
        **opts: Unpack[DeleteOptions],
    ) -> DeleteResponse:
        """Delete a key or a range: ``client.kv.delete``; see :meth:`etcd3py.kv.KV.delete`.

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.
            **opts: see :class:`~etcd3py.op.DeleteOptions`.

        Returns:
            The response.
        """
        return self.kv.delete(key, timeout=timeout, ctx=ctx, **opts)

    def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        """Compact the history up to ``rev``: ``client.kv.compact``.

        Args:
            rev: the revision.
            physical: wait until the backend applied it.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.kv.compact(rev, physical=physical, timeout=timeout, ctx=ctx)

    def txn(self) -> Txn:
        """Start a transaction: ``client.kv.txn()``; ``commit(timeout=, ctx=)`` sends it.

        Returns:
            A new transaction builder.
        """
        return self.kv.txn()

    def do(self, op: Op, *, timeout: float | None = None, ctx: Context | None = None) -> OpResponse:
        """Run one op: ``client.kv.do``.

        Args:
            op: the op.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The op's typed response.
        """
        return self.kv.do(op, timeout=timeout, ctx=ctx)
