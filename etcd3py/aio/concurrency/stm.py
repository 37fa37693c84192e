"""Software transactional memory for asyncio: :func:`run` retries a read-modify-write.

Owns the asyncio :class:`STM` and :func:`run`, twins of :mod:`etcd3py.concurrency.stm` with
the same body (:mod:`etcd3py.concurrency._stm`): the same read and write sets, isolation
levels, compares and retries, so that sync and asyncio transactions on the same keys are
serializable together.

``apply`` is normally a coroutine function, since reading is awaited
(``await stm.get(...)``, ``await stm.rev(...)``). A plain function is accepted too, and
called as in the sync face: it can only buffer writes (``stm.put``/``stm.delete`` do no I/O),
and can read through ``prefetch=`` keys only indirectly, so it suits blind writes. Whatever
``apply`` returns that is awaitable is awaited.

Example::

    async def transfer(stm: STM) -> None:
        a, b = int(await stm.get("/acct/a")), int(await stm.get("/acct/b"))
        stm.put("/acct/a", str(a - 10))
        stm.put("/acct/b", str(b + 10))

    await run(client, transfer)     # serializable snapshot isolation, retried on conflict
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from etcd3py._keys import KeyLike
from etcd3py._responses import TxnResponse
from etcd3py.aio.concurrency._drive import run as _run
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
    from etcd3py.aio.client import Client

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

    As the sync :class:`etcd3py.concurrency.STM`, with :meth:`get` and :meth:`rev` awaited;
    :meth:`put` and :meth:`delete` buffer and do no I/O. Made by :func:`run`, not by users.
    """

    def __init__(self, client: Client, isolation: Isolation, ctx: Context) -> None:
        """Start with empty read and write sets; see :class:`etcd3py.concurrency.STM`."""
        super().__init__(client, isolation, ctx)

    async def get(self, *keys: KeyLike) -> bytes:
        """Return the value of the first key given; see :meth:`etcd3py.concurrency.STM.get`."""
        return await _run(self._client, self._get(keys))

    async def rev(self, key: KeyLike) -> int:
        """Return the mod revision ``key`` was read at; see :meth:`etcd3py.concurrency.STM.rev`."""
        return await _run(self._client, self._rev(key))


async def run(
    client: Client,
    apply: Callable[[STM], object],
    *,
    isolation: Isolation = SERIALIZABLE_SNAPSHOT,
    prefetch: Iterable[KeyLike] = (),
    timeout: float | None = None,
    ctx: Context | None = None,
) -> TxnResponse:
    """Run ``apply`` until its commit meets no conflict; see :func:`etcd3py.concurrency.stm.run`.

    Args:
        client: the asyncio client to run on.
        apply: the transaction body: a coroutine function (or a plain one, see the module),
            called with the attempt's :class:`STM`; what it returns is awaited if awaitable.
        isolation: the isolation level.
        prefetch: keys read in one round trip before each attempt's ``apply``.
        timeout: seconds the whole run may take.
        ctx: a Context whose deadline, cancellation and metadata apply to every call.

    Returns:
        The response of the successful commit.
    """
    make = partial(STM, client, isolation)
    return await _run(client, attempts(make, apply, isolation, prefetch, timeout, ctx))
