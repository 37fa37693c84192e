"""Software transactional memory: :func:`run` retries a read-modify-write until it commits.

Owns the STM of clientv3/concurrency ``stm.go``: the user's ``apply(stm)`` reads keys with
:meth:`STM.get` (recorded in a read set) and buffers writes with :meth:`STM.put` /
:meth:`STM.delete` (a write set); the commit is one transaction guarded by compares on the
read set (and, for :data:`SERIALIZABLE_SNAPSHOT`, on the write set), so that it succeeds only
if nothing it read changed meanwhile. On a conflict the read set is refreshed and ``apply``
runs again. Built on the public client API only (``client.txn``, ``Op``, ``Compare``).

Example::

    def transfer(stm: STM) -> None:
        a, b = int(stm.get("/acct/a")), int(stm.get("/acct/b"))
        stm.put("/acct/a", str(a - 10))
        stm.put("/acct/b", str(b + 10))

    run(client, transfer)     # serializable snapshot isolation, retried on conflict
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from etcd3py._keys import KeyLike, to_bytes
from etcd3py._responses import GetResponse, TxnResponse
from etcd3py.compare import Cmp, Compare
from etcd3py.concurrency._scope import call_context, check_context
from etcd3py.context import Context
from etcd3py.errors import InvalidArgumentError
from etcd3py.op import GetOptions, Op, PutOptions

if TYPE_CHECKING:
    from etcd3py.client import Client

__all__ = [
    "Isolation",
    "READ_COMMITTED",
    "REPEATABLE_READS",
    "SERIALIZABLE",
    "SERIALIZABLE_SNAPSHOT",
    "STM",
    "run",
]

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


class STM:
    """The view of the key space one attempt of :func:`run` gives to ``apply``.

    Reads go to the server (or to what this attempt already read or wrote); writes are
    buffered until the commit. Made by :func:`run`, not by users.
    """

    def __init__(self, client: Client, isolation: Isolation, ctx: Context) -> None:
        """Start with empty read and write sets.

        Args:
            client: the client whose ``txn()`` reads and commits.
            isolation: the isolation level.
            ctx: the abort context: its deadline, cancellation and metadata apply to every
                call.
        """
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

    # ---- what apply uses ----------------------------------------------------------------

    def get(self, *keys: KeyLike) -> bytes:
        """Return the value of the first key given (b"" when it does not exist).

        Several keys are fetched in one round trip and all enter the read set; a key this
        attempt wrote returns the written value without a read.

        Args:
            *keys: one or more keys.

        Returns:
            The value, or ``b""`` for a missing key.

        Raises:
            InvalidArgumentError: no key given.
            EtcdError: the read failed (the whole :func:`run` fails with it).
        """
        if not keys:
            raise InvalidArgumentError("STM.get needs at least one key")
        raw = [to_bytes(k) for k in keys]
        for key in raw:
            if key in self._wset:
                return self._wset[key][0]
        serial = self._isolation in (SERIALIZABLE, SERIALIZABLE_SNAPSHOT)
        first_read = not self._rset
        if serial:
            for key in raw:
                if key in self._prefetch:
                    self._rset[key] = self._prefetch.pop(key)
        resp = self._fetch(raw)
        if serial and first_read:
            # the attempt's base revision is that of its first read
            self._get_opts = {"rev": resp.header.revision, "serializable": True}
        return resp.kvs[0].value if resp.kvs else b""

    def put(self, key: KeyLike, value: KeyLike, **opts: Unpack[PutOptions]) -> None:
        """Buffer a write of ``key``; it happens at the commit, if the commit succeeds.

        Args:
            key: the key.
            value: the value.
            **opts: see :class:`~etcd3py.op.PutOptions` (e.g. ``lease=``).
        """
        self._wset[to_bytes(key)] = (to_bytes(value), Op.put(key, value, **opts))

    def delete(self, key: KeyLike) -> None:
        """Buffer a delete of ``key``; a later :meth:`get` of it returns ``b""``.

        Args:
            key: the key.
        """
        self._wset[to_bytes(key)] = (b"", Op.delete(key))

    def rev(self, key: KeyLike) -> int:
        """Return the mod revision of ``key`` as read by this attempt (0 when missing).

        Args:
            key: the key (read, and added to the read set, if not read yet).

        Returns:
            The key's mod revision, or 0.
        """
        raw = to_bytes(key)
        if self._isolation in (SERIALIZABLE, SERIALIZABLE_SNAPSHOT):
            self.get(raw)
        resp = self._fetch([raw])
        return resp.kvs[0].mod_revision if resp.kvs else 0

    # ---- what run uses ------------------------------------------------------------------

    def _fetch(self, keys: list[bytes]) -> GetResponse:
        for key in keys:
            if key in self._rset:
                return self._rset[key]
        ops = [Op.get(key, **self._get_opts) for key in keys]
        txn = self._client.txn().then(*ops).commit(ctx=self._ctx)
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

    def _commit(self) -> TxnResponse | None:
        """Try to commit; return the response, or ``None`` on a conflict."""
        txn = (
            self._client.txn().if_(*self._conflicts()).then(*(op for _, op in self._wset.values()))
        )
        serial = self._isolation in (SERIALIZABLE, SERIALIZABLE_SNAPSHOT)
        keys = list(self._rset)
        if serial:
            # read the keys again in the else branch: a conflict costs no extra round trip
            txn = txn.else_(*(Op.get(key) for key in keys))
        resp = txn.commit(ctx=self._ctx)
        if resp.succeeded:
            return resp
        if serial:
            self._add_reads(keys, resp)
            self._prefetch = self._rset
            self._get_opts = {}
        return None


def run(
    client: Client,
    apply: Callable[[STM], object],
    *,
    isolation: Isolation = SERIALIZABLE_SNAPSHOT,
    prefetch: Iterable[KeyLike] = (),
    timeout: float | None = None,
    ctx: Context | None = None,
) -> TxnResponse:
    """Run ``apply`` in a transaction, retrying it until its commit meets no conflict.

    As Go's ``concurrency.NewSTM``: each attempt starts with empty read and write sets,
    calls ``apply(stm)`` and commits the buffered writes guarded by compares on what it
    read. ``apply`` may run several times, so it must have no side effects beside ``stm``.

    Args:
        client: the client to run on.
        apply: the transaction body; an exception it raises aborts :func:`run` with it.
        isolation: :data:`SERIALIZABLE_SNAPSHOT` (default), :data:`SERIALIZABLE`,
            :data:`REPEATABLE_READS` or :data:`READ_COMMITTED`.
        prefetch: keys read in one round trip before each attempt's ``apply``.
        timeout: seconds the whole run (every attempt and its calls) may take.
        ctx: a Context whose deadline, cancellation and metadata apply to every call (Go's
            ``WithAbortContext``): once it ends, the call in flight is cancelled and no
            further attempt starts.

    Returns:
        The response of the successful commit.

    Raises:
        CanceledError: ``ctx`` was cancelled.
        DeadlineExceededError: ``timeout`` or ``ctx``'s deadline passed.
        EtcdError: a read or the commit failed, typed.
        Exception: whatever ``apply`` raised.
    """
    if not isinstance(isolation, Isolation):
        raise InvalidArgumentError(f"isolation must be an Isolation, not {isolation!r}")
    keys = [to_bytes(k) for k in prefetch]
    with call_context(ctx, timeout) as call_ctx:
        return _attempts(STM(client, isolation, call_ctx), apply, keys, call_ctx)


def _attempts(
    stm: STM, apply: Callable[[STM], object], prefetch: list[bytes], ctx: Context
) -> TxnResponse:
    """Run ``apply`` on ``stm`` until a commit meets no conflict (the loop of :func:`run`)."""
    while True:
        check_context(ctx)
        stm._reset()
        if prefetch:
            stm.get(*prefetch)
        apply(stm)
        resp = stm._commit()
        if resp is not None:
            return resp
