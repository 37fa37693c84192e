"""The namespace KV: a :class:`~etcd3py.kv.KV` whose keys all live under one prefix.

Owns :class:`NamespaceKV` (clientv3 ``namespace/kv.go``). It implements only the abstract
``do`` and ``compact`` of the KV base, so ``put``/``get``/``delete``/``txn`` (written once on
``do``) are namespaced without a line each: ``do`` prefixes the op in one place
(:func:`~etcd3py.namespace._prefix.prefix_op`) and strips the prefix from the response.
"""

from __future__ import annotations

from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import CompactResponse, OpResponse
from etcd3py.context import Context
from etcd3py.errors import ArgumentTypeError, ClientClosedError
from etcd3py.kv import KV
from etcd3py.namespace._prefix import namespace_op, unprefix_response
from etcd3py.op import Op


class NamespaceKV(KV):
    """A KV that prefixes every key it sends and strips the prefix from every key it returns.

    Ranges (``prefix=True``, ``from_key=True``, ``range_end``) stay inside the namespace;
    see :mod:`etcd3py.namespace._prefix` for the rules. Thread-safe as the KV it wraps.
    """

    def __init__(self, kv: KV, prefix: KeyLike) -> None:
        """Wrap ``kv``.

        Args:
            kv: the KV that runs the prefixed ops (it stays the caller's: not closed here).
            prefix: the namespace prefix, e.g. ``"/app/"`` (``str`` is encoded UTF-8).

        Raises:
            ArgumentTypeError: ``kv`` is not a KV, or ``prefix`` is not ``str``/``bytes``.
        """
        if not isinstance(kv, KV):
            raise ArgumentTypeError(f"new_kv takes a KV, not {type(kv).__name__}")
        self._kv = kv
        self._prefix = to_bytes(prefix, "prefix")
        self._closed = False

    @property
    def prefix(self) -> bytes:
        """The namespace prefix."""
        return self._prefix

    def do(self, op: Op, *, timeout: float | None = None, ctx: Context | None = None) -> OpResponse:
        """Run ``op`` inside the namespace; see :meth:`etcd3py.kv.KV.do`.

        Args:
            op: the op, with keys as the namespace sees them.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply (passed on to
                the wrapped KV).

        Returns:
            The response, with keys as the namespace sees them.

        Raises:
            ArgumentTypeError: ``op`` is not an ``Op``.
            EmptyKeyError: a get, put or delete op with an empty key.
            ClientClosedError: the namespaced client that owns this KV was closed.
        """
        inside = namespace_op(self._prefix, op)
        self._check_open()
        response = self._kv.do(inside, timeout=timeout, ctx=ctx)
        return unprefix_response(self._prefix, response)

    def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        """Compact the whole store's history (revisions are not namespaced), as clientv3.

        Args:
            rev: the revision.
            physical: wait until the backend applied it.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            ClientClosedError: the namespaced client that owns this KV was closed.
        """
        self._check_open()
        return self._kv.compact(rev, physical=physical, timeout=timeout, ctx=ctx)

    def close(self) -> None:
        """Refuse further calls (``ClientClosedError``); the wrapped KV is left open."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("etcd3py: the namespaced client is closed")

    def __repr__(self) -> str:
        return f"NamespaceKV(prefix={self._prefix!r}, kv={self._kv!r})"
