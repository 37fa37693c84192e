"""A :class:`~etcd3py.Context` on the event loop: its end (from any thread) reaches the loop.

What the asyncio face's transport and stream drivers share: :func:`on_ctx_done` runs an
action on the loop when a context ends, :func:`wait_ctx` sleeps until a context ends,
:class:`MappedErrors` maps a ``grpc.aio`` call's failure (the context's own cancel to its
error), and :func:`task_cancelling` tells a task's own cancel from a call it cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio

from etcd3py.context import Context
from etcd3py.errors import from_rpc_error

__all__ = [
    "TELLS_CANCELS",
    "MappedErrors",
    "cancelled_read",
    "cancels",
    "on_ctx_done",
    "raise_lost_cancel",
    "task_cancelling",
    "wait_ctx",
]


class MappedErrors:
    """``with MappedErrors(ctx):`` maps a call's failure to :mod:`etcd3py.errors`, and the
    ctx's own cancel to its error; a ``CancelledError`` that is not the ctx's (the awaiting
    task was cancelled) goes on. A class, not a generator: it is on every call's path.
    """

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Context | None) -> None:
        self._ctx = ctx

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None:
            return
        ctx = self._ctx
        if isinstance(exc, asyncio.CancelledError):
            ended = ctx.err() if ctx is not None else None
            if ended is None:
                return  # the awaiting task itself was cancelled: asyncio's own rule
            raise ended from None
        if isinstance(exc, grpc.aio.AioRpcError):
            ended = ctx.err() if ctx is not None else None
            if ended is not None and exc.code() == grpc.StatusCode.CANCELLED:
                raise ended from exc
            raise from_rpc_error(exc) from exc


def on_ctx_done(ctx: Context | None, action: Callable[[], object]) -> Callable[[], None]:
    """Run ``action`` on the running loop when ``ctx`` ends (from whichever thread ends it).

    Returns:
        A function that unregisters it.
    """
    if ctx is None or ctx is Context._background:
        return _nothing
    loop = asyncio.get_running_loop()

    def fire() -> None:
        # the loop may close meanwhile (a context outliving its client): nothing to run then
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(action)

    return ctx.add_done_callback(fire)


async def wait_ctx(ctx: Context | None, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``ctx`` ends first."""
    if ctx is None or ctx is Context._background:
        await asyncio.sleep(seconds)
        return
    ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def resolve() -> None:
        if not ended.done():
            ended.set_result(None)

    unregister = on_ctx_done(ctx, resolve)
    try:
        await asyncio.wait([ended], timeout=seconds)
    finally:
        unregister()
        ended.cancel()


def _nothing() -> None:
    pass


#: Whether a task counts the cancels asked of it (``Task.cancelling``, Python 3.11+).
TELLS_CANCELS = sys.version_info >= (3, 11)


def cancels() -> int:
    """How many cancels of the current task are pending (Python 3.11+; 0 on 3.10)."""
    task: Any = asyncio.current_task() if TELLS_CANCELS else None  # 3.10's Task lacks it
    return int(task.cancelling()) if task is not None else 0


def raise_lost_cancel(before: int) -> None:
    """Raise the ``CancelledError`` a ``grpc.aio`` await lost, if it lost one.

    A ``grpc.aio`` call awaits tasks of its own (a unary call's invocation, a stream's
    preparation) which catch a ``CancelledError`` and return normally when the call ends at
    that moment: the task awaiting the call was asked to cancel, yet the await returns a
    result or the stream's end, and the cancel is gone. Called after such an await with
    :func:`cancels` taken before it: a cancel asked meanwhile that did not arrive as
    ``CancelledError`` is raised here (Python 3.11+; 3.10 cannot tell).

    Raises:
        asyncio.CancelledError: the task was asked to cancel during the await.
    """
    if before < cancels():
        raise asyncio.CancelledError()


def task_cancelling() -> bool:
    """Whether the current task was asked to cancel (Python 3.11+ can tell; 3.10 cannot).

    The stream drivers use it to tell their own task's cancel from a call they cancelled.
    """
    return cancels() > 0


def cancelled_read(exc: UnboundLocalError) -> BaseException:
    """The error a ``grpc.aio`` read raised as ``UnboundLocalError`` stands for.

    grpcio before 1.5x loses the ``CancelledError`` of a read whose task is cancelled as its
    call ends (``_read`` catches it, then reads an unbound name; later versions re-raise):
    when the current task is being cancelled, that is its cancellation; else the error itself.
    """
    if task_cancelling():
        return asyncio.CancelledError()
    return exc
