"""The asyncio face's transactions: :class:`Txn`, built as the sync one, committed awaited.

The builder rules (``if_`` before ``then`` before ``else_``, each once, :meth:`Txn.op`)
are the sync face's own (:class:`etcd3py.txn._TxnBuilder`); only :meth:`Txn.commit` waits
differently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcd3py._responses import TxnResponse, expect
from etcd3py.txn import _TxnBuilder

if TYPE_CHECKING:
    from etcd3py.aio.kv import KV
    from etcd3py.context import Context

__all__ = ["Txn", "TxnResponse"]


class Txn(_TxnBuilder):
    """A transaction being built; get one from ``client.txn()``; see :class:`etcd3py.txn.Txn`.

    Example::

        resp = await (
            client.txn()
            .if_(Compare.mod_revision("/cfg") == rev)
            .then(Op.put("/cfg", new))
            .commit(ctx=ctx)
        )

    Build and commit it on the loop of its client.
    """

    def __init__(self, kv: KV) -> None:
        """Start a transaction that commits through ``await kv.do``.

        Args:
            kv: the KV that runs it.
        """
        super().__init__()
        self._kv = kv

    async def commit(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> TxnResponse:
        """Send the transaction; see :meth:`etcd3py.txn.Txn.commit`."""
        return expect(await self._kv.do(self.op(), timeout=timeout, ctx=ctx), TxnResponse)
