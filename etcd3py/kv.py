"""The KV concern: the abstract :class:`KV`, its gRPC implementation, and the KV responses.

Owns ``put``/``get``/``delete``/``txn`` written once on top of the abstract
:meth:`KV.do` (as clientv3 ``kv.go``), so a wrapper such as the namespace KV implements only
``do`` and ``compact``. :class:`GrpcKV` sends each op through the transport (ranges and
read-only txns are retried on ``UNAVAILABLE``; writes only when never sent). Validation
happens when the :class:`~etcd3py.Op` is built, before anything is sent.

Every call takes ``timeout=`` and ``ctx=`` (a :class:`~etcd3py.Context`), as clientv3's
calls take a ``context.Context``: the nearer of the two deadlines bounds the call and its
retries (``DeadlineExceededError``), cancelling the ctx from any thread aborts the call in
flight (``CanceledError``; a ctx already ended sends nothing), and the ctx's metadata (e.g.
``with_require_leader()``) goes with the request.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

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
from etcd3py.context import Context
from etcd3py.models import SortOrder, SortTarget
from etcd3py.op import Op, _get_op, _plain_get, _plain_put, _put_op
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


class KV(abc.ABC):
    """Reads and writes of keys, as clientv3's ``KV`` interface.

    Subclasses implement :meth:`do` and :meth:`compact`; everything else is built on them.
    """

    @abc.abstractmethod
    def do(self, op: Op, *, timeout: float | None = None, ctx: Context | None = None) -> OpResponse:
        """Run one op and return its typed response.

        An implementation passes ``ctx`` on to the call it makes (a wrapper to the KV it
        wraps), as clientv3's ``Do(ctx, op)``.

        Args:
            op: the op (``Op.get``, ``Op.put``, ``Op.delete`` or ``Op.txn``).
            timeout: seconds for the call, retries included (``None``: no limit).
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            A ``GetResponse``, ``PutResponse``, ``DeleteResponse`` or ``TxnResponse``.

        Raises:
            CanceledError: ``ctx`` was cancelled (before the call: nothing is sent).
            DeadlineExceededError: the timeout or the ctx's deadline passed.
            EtcdError: the server's or the transport's failure, typed.
        """

    @abc.abstractmethod
    def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        """Compact the key-value history up to ``rev``.

        Args:
            rev: the revision; older revisions of keys can no longer be read or watched.
            physical: wait until the compaction is applied to the backend before answering.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            InvalidArgumentError: ``rev`` is negative or past ``2**63 - 1``, before sending.
            CompactedError: ``rev`` is already compacted.
            FutureRevisionError: ``rev`` is newer than the current revision.
            CanceledError: ``ctx`` was cancelled.
            DeadlineExceededError: the timeout or the ctx's deadline passed.
        """

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
        """Read a key or a range (the options are ``Op.get``'s, as clientv3's ``OpGet``).

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call, retries included.
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

        Raises:
            InvalidArgumentError: a bad option (see ``Op.get``), before anything is sent.
            CompactedError: ``rev`` is compacted.
            FutureRevisionError: ``rev`` is in the future.
            CanceledError: ``ctx`` was cancelled.
            DeadlineExceededError: the timeout or the ctx's deadline passed.
        """
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
        return self._get(key, options, timeout, ctx)

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
        """Write ``value`` at ``key`` (the options are ``Op.put``'s).

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
            The response (``.header.revision`` is the write's revision).

        Raises:
            InvalidArgumentError: a bad option (see ``Op.put``), before anything is sent.
            KeyNotFoundError: ``ignore_value``/``ignore_lease`` on a key that does not exist.
            LeaseNotFoundError: the lease does not exist.
            RequestTooLargeError: the request exceeds the server's or gRPC's size limit.
            CanceledError: ``ctx`` was cancelled (in flight, the write may have been applied).
            DeadlineExceededError: the timeout or the ctx's deadline passed.
        """
        options = (lease, prev_kv, ignore_value, ignore_lease)
        return self._put(key, value, options, timeout, ctx)

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
        """Delete a key or a range (the options are ``Op.delete``'s).

        Args:
            key: the key, or the start of the range.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.
            prefix: delete every key starting with the key (the empty key: every key).
            range_end: delete the keys in ``[key, range_end)``.
            from_key: delete every key ``>= key`` (the empty key: every key).
            prev_kv: return the deleted key-values.

        Returns:
            The response (``.deleted`` counts the keys deleted).

        Raises:
            InvalidArgumentError: a bad option (see ``Op.delete``), before anything is sent.
            CanceledError: ``ctx`` was cancelled (in flight, the delete may have been applied).
            DeadlineExceededError: the timeout or the ctx's deadline passed.
        """
        op = Op.delete(key, prefix=prefix, range_end=range_end, from_key=from_key, prev_kv=prev_kv)
        return expect(self.do(op, timeout=timeout, ctx=ctx), DeleteResponse)

    def _get(
        self,
        key: KeyLike,
        options: tuple[object, ...],
        timeout: float | None,
        ctx: Context | None,
    ) -> GetResponse:
        """Run a get whose options are one tuple in ``GetOptions``' order: an op, via do().

        The gRPC KV sends the common get (no option) straight, with no op built.
        """
        return expect(self.do(_get_op(key, options), timeout=timeout, ctx=ctx), GetResponse)

    def _put(
        self,
        key: KeyLike,
        value: KeyLike,
        options: tuple[object, ...],
        timeout: float | None,
        ctx: Context | None,
    ) -> PutResponse:
        """Run a put whose options are one tuple in ``PutOptions``' order: an op, via do()."""
        op = _put_op(key, value, options)
        return expect(self.do(op, timeout=timeout, ctx=ctx), PutResponse)

    def txn(self) -> Txn:
        """Start a transaction: ``kv.txn().if_(...).then(...).else_(...).commit(ctx=ctx)``.

        The ctx and timeout of the call go to :meth:`Txn.commit <etcd3py.txn.Txn.commit>`,
        the one step that sends.

        Returns:
            A new transaction builder.
        """
        return Txn(self)


class GrpcKV(KV):
    """The KV of a client, over its gRPC connection."""

    #: Whether a get or put with no option goes to its request with no op built: not in a
    #: subclass that overrides do(), which then sees every call, as KV's contract says.
    _plain_direct = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._plain_direct = cls.do is GrpcKV.do

    def __init__(self, transport: Transport) -> None:
        """Serve KV calls through ``transport``.

        Args:
            transport: the client's transport.
        """
        self._transport = transport

    def do(self, op: Op, *, timeout: float | None = None, ctx: Context | None = None) -> OpResponse:
        """Run one op over gRPC; see :meth:`KV.do`.

        Args:
            op: the op.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The typed response.

        Raises:
            ArgumentTypeError: ``op`` is not an ``Op``, or ``ctx`` not a ``Context``.
        """
        return self._transport.run(calls.do(op), timeout=timeout, ctx=ctx)

    def _get(
        self,
        key: KeyLike,
        options: tuple[object, ...],
        timeout: float | None,
        ctx: Context | None,
    ) -> GetResponse:
        raw = _plain_get(key, options) if self._plain_direct else None
        if raw is None:
            return super()._get(key, options, timeout, ctx)
        return self._transport.run(calls.get_key(raw), timeout=timeout, ctx=ctx)

    def _put(
        self,
        key: KeyLike,
        value: KeyLike,
        options: tuple[object, ...],
        timeout: float | None,
        ctx: Context | None,
    ) -> PutResponse:
        plain = _plain_put(key, value, options) if self._plain_direct else None
        if plain is None:
            return super()._put(key, value, options, timeout, ctx)
        return self._transport.run(calls.put_value(*plain), timeout=timeout, ctx=ctx)

    def compact(
        self,
        rev: int,
        *,
        physical: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> CompactResponse:
        """Compact the history up to ``rev``; see :meth:`KV.compact`.

        Args:
            rev: the revision.
            physical: wait until the backend applied it.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            ArgumentTypeError: ``rev`` is not an int, ``physical`` not a bool, or ``ctx``
                not a ``Context``.
            InvalidArgumentError: ``rev`` is negative or past ``2**63 - 1``.
        """
        return self._transport.run(calls.compact(rev, physical), timeout=timeout, ctx=ctx)
