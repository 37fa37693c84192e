"""The body of the STM, shared by the sync and the asyncio face (Go ``stm.go``).

Owns :class:`Isolation`, :class:`STMCore` (the read set, the write set, the reads at the
attempt's base revision, the commit guarded by compares, the reads refreshed by a failed
commit) and :func:`attempts`, the loop that runs the user's ``apply`` until a commit meets no
conflict. Each call is a flow (:mod:`etcd3py.concurrency._flow`); the faces run them and give
``apply`` their own :class:`STMCore` subclass. No I/O here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any

from typing_extensions import Unpack

from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import GetResponse, TxnResponse
from etcd3py.compare import Cmp, Compare
from etcd3py.concurrency._flow import Apply, Do, Flow
from etcd3py.concurrency._scope import call_context, check_context
from etcd3py.context import Context
from etcd3py.errors import FutureRevisionError, InvalidArgumentError
from etcd3py.op import GetOptions, Op, PutOptions

# The largest revision: no read happened yet (Go's math.MaxInt64 - 1).
_NO_READ = 2**63 - 2


class Isolation(enum.Enum):
    """How strictly an STM transaction is isolated (Go's ``Isolation``)."""

    #: Serializable, and a write conflicts with any change of its key since the first read.
    SERIALIZABLE_SNAPSHOT = "serializable_snapshot"
    #: Every read of one attempt sees the revision of its first read.
    SERIALIZABLE = "serializable"
    #: A key read twice in one attempt gives the same value; commit checks the read set.
    REPEATABLE_READS = "repeatable_reads"
    #: Reads see any committed value; the commit checks nothing.
    READ_COMMITTED = "read_committed"


SERIALIZABLE_SNAPSHOT = Isolation.SERIALIZABLE_SNAPSHOT
SERIALIZABLE = Isolation.SERIALIZABLE
REPEATABLE_READS = Isolation.REPEATABLE_READS
READ_COMMITTED = Isolation.READ_COMMITTED


class STMCore:
    """The key space one attempt gives to ``apply``; see :class:`etcd3py.concurrency.STM`."""

    def __init__(self, client: Any, isolation: Isolation, ctx: Context) -> None:
        """Start with empty read and write sets; see :class:`etcd3py.concurrency.STM`."""
        self._client = client
        self._isolation = isolation
        self._ctx = ctx
        # key -> the read of it this attempt relies on (after a conflict: prefetched reads)
        self._rset: dict[bytes, GetResponse] = {}
        self._prefetch: dict[bytes, GetResponse] = {}
        # key -> (the value a later get returns, the op the commit runs)
        self._wset: dict[bytes, tuple[bytes, Op]] = {}
        self._get_opts: GetOptions = self._base_get_opts()

    def _base_get_opts(self) -> GetOptions:
        if self._isolation in (REPEATABLE_READS, READ_COMMITTED):
            return {"serializable": True}
        return {}

    def _serial(self) -> bool:
        return self._isolation in (SERIALIZABLE, SERIALIZABLE_SNAPSHOT)

    # ---- what apply uses ----------------------------------------------------------------

    def put(self, key: KeyLike, value: KeyLike, **opts: Unpack[PutOptions]) -> None:
        """Buffer a write of ``key``; it happens at the commit, if the commit succeeds.

        Args:
            key: the key.
            value: the value.
            **opts: see :class:`~etcd3py.op.PutOptions` (e.g. ``lease=``).
        """
        self._wset[to_bytes(key)] = (to_bytes(value), Op.put(key, value, **opts))

    def delete(self, key: KeyLike) -> None:
        """Buffer a delete of ``key``; a later ``get`` of it returns ``b""``.

        Args:
            key: the key.
        """
        self._wset[to_bytes(key)] = (b"", Op.delete(key))

    def _get(self, keys: tuple[KeyLike, ...]) -> Flow[bytes]:
        if not keys:
            raise InvalidArgumentError("STM.get needs at least one key")
        raw = [to_bytes(k) for k in keys]
        for key in raw:
            if key in self._wset:
                return self._wset[key][0]
        first_read = not self._rset
        if self._serial():
            for key in raw:
                if key in self._prefetch:
                    self._rset[key] = self._prefetch.pop(key)
        resp = yield from self._fetch(raw)
        if self._serial() and first_read:
            # the attempt's base revision is that of its first read
            self._get_opts = {"rev": resp.header.revision, "serializable": True}
        return resp.kvs[0].value if resp.kvs else b""

    def _rev(self, key: KeyLike) -> Flow[int]:
        raw = to_bytes(key)
        if self._serial():
            yield from self._get((raw,))
        resp = yield from self._fetch([raw])
        return resp.kvs[0].mod_revision if resp.kvs else 0

    # ---- what the attempts use ----------------------------------------------------------

    def _fetch(self, keys: list[bytes]) -> Flow[GetResponse]:
        for key in keys:
            if key in self._rset:
                return self._rset[key]
        ops = [Op.get(key, **self._get_opts) for key in keys]
        try:
            txn = yield Do(Op.txn((), ops), ctx=self._ctx)
        except FutureRevisionError:
            rev = self._get_opts.get("rev")
            if rev is None:
                raise
            # A serializable read at the attempt's base revision reached a member that has
            # not applied that revision yet (round robin over a cluster; clientv3 returns
            # this error to the caller). The revision is committed, since a read saw it: a
            # linearizable read at it waits until the member has applied it.
            ops = [Op.get(key, rev=rev) for key in keys]
            txn = yield Do(Op.txn((), ops), ctx=self._ctx)
        self._add_reads(keys, txn)
        return self._rset[keys[0]]

    def _add_reads(self, keys: list[bytes], txn: TxnResponse) -> None:
        for key, resp in zip(keys, txn.responses, strict=True):
            assert isinstance(resp, GetResponse)
            self._rset[key] = resp

    def _reset(self) -> None:
        self._rset = {}
        self._wset = {}

    def _conflicts(self) -> list[Cmp]:
        if self._isolation is READ_COMMITTED:
            return []
        cmps = [
            Compare.mod_revision(key) == (resp.kvs[0].mod_revision if resp.kvs else 0)
            for key, resp in self._rset.items()
        ]
        if self._isolation is SERIALIZABLE_SNAPSHOT:
            first = min((r.header.revision for r in self._rset.values()), default=_NO_READ)
            cmps += [Compare.mod_revision(key) < first + 1 for key in self._wset]
        return cmps

    def _commit(self) -> Flow[TxnResponse | None]:
        """Try to commit; return the response, or ``None`` on a conflict."""
        keys = list(self._rset)
        # serializable: read the keys again in the else branch, so that a conflict costs
        # no extra round trip
        again = [Op.get(key) for key in keys] if self._serial() else []
        writes = [op for _, op in self._wset.values()]
        resp = yield Do(Op.txn(self._conflicts(), writes, again), ctx=self._ctx)
        assert isinstance(resp, TxnResponse)
        if resp.succeeded:
            return resp
        if self._serial():
            self._add_reads(keys, resp)
            self._prefetch = self._rset
            self._get_opts = {}
        return None


def attempts(
    make: Callable[[Context], STMCore],
    apply: Callable[[Any], object],
    isolation: Isolation,
    prefetch: Iterable[KeyLike],
    timeout: float | None,
    ctx: Context | None,
) -> Flow[TxnResponse]:
    """Run ``apply`` until its commit meets no conflict (the body of ``stm.run``).

    Args:
        make: the face's STM class, called with the run's context.
        apply: the user's transaction body.
        isolation: the isolation level.
        prefetch: keys read in one round trip before each attempt's ``apply``.
        timeout: seconds the whole run may take.
        ctx: the abort context.

    Returns:
        The response of the successful commit.
    """
    if not isinstance(isolation, Isolation):
        raise InvalidArgumentError(f"isolation must be an Isolation, not {isolation!r}")
    keys = tuple(to_bytes(k) for k in prefetch)
    with call_context(ctx, timeout) as call_ctx:
        stm = make(call_ctx)
        while True:
            check_context(call_ctx)
            stm._reset()
            if keys:
                yield from stm._get(keys)
            yield Apply(apply, stm)
            resp = yield from stm._commit()
            if resp is not None:
                return resp
