"""Software transactional memory: :func:`run` retries a read-modify-write until it commits.

Owns the STM of clientv3/concurrency ``stm.go``: the user's ``apply(stm)`` reads keys with
:meth:`STM.get` (recorded in a read set) and buffers writes with :meth:`STM.put` /
:meth:`STM.delete` (a write set); the commit is one transaction guarded by compares on the
read set (and, for :data:`SERIALIZABLE_SNAPSHOT`, on the write set), so that it succeeds only
if nothing it read changed meanwhile. On a conflict the read set is refreshed and ``apply``
runs again. Built on the public client API only (``client.kv.do``, ``Op``, ``Compare``); its
body (:mod:`etcd3py.concurrency._stm`) is shared with the asyncio face, and this face runs
its flows blocking.

Example::

    def transfer(stm: STM) -> None:
        a, b = int(stm.get("/acct/a")), int(stm.get("/acct/b"))
        stm.put("/acct/a", str(a - 10))
        stm.put("/acct/b", str(b + 10))

    run(client, transfer)     # serializable snapshot isolation, retried on conflict
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from etcd3py._keys import KeyLike
from etcd3py._responses import TxnResponse
from etcd3py.concurrency._drive import run as _run
from etcd3py.concurrency._stm import (
    READ_COMMITTED,
    REPEATABLE_READS,
    SERIALIZABLE,
    SERIALIZABLE_SNAPSHOT,
    Isolation,
    STMCore,
    attempts,
)
from etcd3py.context import Context

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


class STM(STMCore):
    """The view of the key space one attempt of :func:`run` gives to ``apply``.

    Reads go to the server (or to what this attempt already read or wrote); writes are
    buffered until the commit. Made by :func:`run`, not by users.
    """

    def __init__(self, client: Client, isolation: Isolation, ctx: Context) -> None:
        """Start with empty read and write sets.

        Args:
            client: the client whose ``kv.do`` reads and commits.
            isolation: the isolation level.
            ctx: the abort context: its deadline, cancellation and metadata apply to every
                call.
        """
        super().__init__(client, isolation, ctx)

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
        return _run(self._client, self._get(keys))

    def rev(self, key: KeyLike) -> int:
        """Return the mod revision of ``key`` as read by this attempt (0 when missing).

        Args:
            key: the key (read, and added to the read set, if not read yet).

        Returns:
            The key's mod revision, or 0.
        """
        return _run(self._client, self._rev(key))


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
    return _run(
        client, attempts(partial(STM, client, isolation), apply, isolation, prefetch, timeout, ctx)
    )
