"""The asyncio namespace KV: :class:`etcd3py.namespace.NamespaceKV`'s rules, awaited.

The op is checked and prefixed, and the response stripped, by the shared prefix math of
:mod:`etcd3py.namespace._prefix`; only the wait differs.
"""

from __future__ import annotations

from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import CompactResponse, OpResponse
from etcd3py.aio.kv import KV
from etcd3py.context import Context
from etcd3py.errors import ArgumentTypeError, ClientClosedError
from etcd3py.namespace._prefix import namespace_op, unprefix_response
from etcd3py.op import Op

__all__ = ["NamespaceKV"]


class NamespaceKV(KV):
    """An asyncio KV that prefixes every key it sends and strips it from every key it returns.

    See :class:`etcd3py.namespace.NamespaceKV` for the rules.
    """

    def __init__(self, kv: KV, prefix: KeyLike) -> None:
        """Wrap ``kv``.

        Args:
            kv: the asyncio KV that runs the prefixed ops (it stays the caller's).
            prefix: the namespace prefix, e.g. ``"/app/"`` (``str`` is encoded UTF-8).

        Raises:
            ArgumentTypeError: ``kv`` is not an asyncio KV, or ``prefix`` not ``str``/``bytes``.
        """
        if not isinstance(kv, KV):
            raise ArgumentTypeError(f"new_kv takes an asyncio KV, not {type(kv).__name__}")
        self._kv = kv
        self._prefix = to_bytes(prefix, "prefix")
        self._closed = False

    @property
    def prefix(self) -> bytes:
        """The namespace prefix."""
        return self._prefix

    async def do(
        self, op: Op, *, timeout: float | None = None, ctx: Context | None = None
    ) -> OpResponse:
        """Run ``op`` inside the namespace; see :meth:`etcd3py.namespace.NamespaceKV.do`."""
        inside = namespace_op(self._prefix, op)
        self._check_open()
        return unprefix_response(self._prefix, await self._kv.do(inside, timeout=timeout, ctx=ctx))

    async def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        """Compact the whole store's history (revisions are not namespaced), as clientv3."""
        self._check_open()
        return await self._kv.compact(rev, physical=physical, timeout=timeout, ctx=ctx)

    def close(self) -> None:
        """Refuse further calls (``ClientClosedError``); the wrapped KV is left open."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("etcd3py: the namespaced client is closed")

    def __repr__(self) -> str:
        return f"NamespaceKV(prefix={self._prefix!r}, kv={self._kv!r})"
