"""The ``Client`` methods that forward to ``client.kv`` (``client.put`` is ``client.kv.put``)."""

from __future__ import annotations

from etcd3py._ints import LeaseLike
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
from etcd3py.models import SortOrder, SortTarget
from etcd3py.op import Op
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
        """Read a key or a range: ``client.kv.get``; see :meth:`etcd3py.kv.KV.get`.

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.
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
            The key-values read.
        """
        return self.kv.get(
            key,
            prefix=prefix,
            range_end=range_end,
            from_key=from_key,
            rev=rev,
            limit=limit,
            sort_target=sort_target,
            sort_order=sort_order,
            keys_only=keys_only,
            count_only=count_only,
            serializable=serializable,
            min_mod_revision=min_mod_revision,
            max_mod_revision=max_mod_revision,
            min_create_revision=min_create_revision,
            max_create_revision=max_create_revision,
            timeout=timeout,
            ctx=ctx,
        )

    def put(
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
        """Write a key: ``client.kv.put``; see :meth:`etcd3py.kv.KV.put`.

        Args:
            key: the key.
            value: the value.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.
            lease: attach the key to this lease: its ID or its grant response (0: none).
            prev_kv: return the key-value as it was before the write.
            ignore_value: keep the current value (the value passed must be empty).
            ignore_lease: keep the current lease (``lease`` must be 0).

        Returns:
            The response.
        """
        return self.kv.put(
            key,
            value,
            lease=lease,
            prev_kv=prev_kv,
            ignore_value=ignore_value,
            ignore_lease=ignore_lease,
            timeout=timeout,
            ctx=ctx,
        )

    def delete(
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
        """Delete a key or a range: ``client.kv.delete``; see :meth:`etcd3py.kv.KV.delete`.

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.
            prefix: delete every key starting with the key (the empty key: every key).
            range_end: delete the keys in ``[key, range_end)``.
            from_key: delete every key ``>= key`` (the empty key: every key).
            prev_kv: return the deleted key-values.

        Returns:
            The response.
        """
        return self.kv.delete(
            key,
            prefix=prefix,
            range_end=range_end,
            from_key=from_key,
            prev_kv=prev_kv,
            timeout=timeout,
            ctx=ctx,
        )

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
