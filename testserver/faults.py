"""Fault injection for the reference server: open streams that can be dropped, and delays.

Streaming servicers (Watch, LeaseKeepAlive: later issues) run their handler inside
``async with registry.track(context):``; :meth:`StreamRegistry.drop_all` then cancels every
tracked handler, and each one ends its RPC with ``UNAVAILABLE`` as a broken connection to
etcd would. :class:`Faults` also holds the delay applied before every unary call.
Everything here runs on the server's asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import grpc

__all__ = ["DROPPED_MESSAGE", "Faults", "StreamRegistry", "TrackedStream"]

_SETTLE_TIMEOUT = 2.0  # seconds a dropped stream waits for its write in flight

#: the status message a dropped stream ends with (code ``UNAVAILABLE``).
DROPPED_MESSAGE = "testserver: stream dropped by fault injection"


class _AbortableContext(Protocol):
    async def abort(self, code: grpc.StatusCode, details: str = "") -> None: ...

    async def write(self, message: Any) -> None: ...


class TrackedStream:
    """One open streaming RPC: its handler task, and the writes made through it.

    Handlers write with :meth:`write`, never ``context.write`` directly: a write is shielded
    from the drop's cancellation and awaited before the abort, because aborting while gRPC
    still has a message send in flight fails (``GRPC_CALL_ERROR_TOO_MANY_OPERATIONS``) and
    leaves the client's stream hanging with no status.
    """

    __slots__ = ("_context", "dropped", "pending", "task")

    def __init__(self, task: asyncio.Task[object], context: _AbortableContext) -> None:
        self.task = task
        self._context = context
        self.dropped = False
        self.pending: asyncio.Future[None] | None = None

    async def write(self, message: Any) -> None:
        """Send one message on the stream (completes even if the handler is cancelled)."""
        self.pending = asyncio.ensure_future(self._context.write(message))
        await asyncio.shield(self.pending)

    async def settle(self) -> None:
        """Wait (bounded) for a write still in flight to finish."""
        pending = self.pending
        if pending is not None and not pending.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(pending), _SETTLE_TIMEOUT)


class StreamRegistry:
    """The streaming RPCs open right now, so that they can all be broken at once."""

    def __init__(self) -> None:
        self._streams: set[TrackedStream] = set()

    def __len__(self) -> int:
        return len(self._streams)

    @asynccontextmanager
    async def track(self, context: _AbortableContext) -> AsyncIterator[TrackedStream]:
        """Register the current handler task as an open stream for the body of the block.

        When :meth:`drop_all` cancels it, the block ends the RPC with ``UNAVAILABLE``.

        Args:
            context: the handler's gRPC servicer context.
        """
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("StreamRegistry.track must run inside an asyncio task")
        stream = TrackedStream(task, context)
        self._streams.add(stream)
        try:
            yield stream
        except asyncio.CancelledError:
            if not stream.dropped:
                raise
            uncancel = getattr(task, "uncancel", None)
            if uncancel is not None:
                uncancel()
            await stream.settle()
            await context.abort(grpc.StatusCode.UNAVAILABLE, DROPPED_MESSAGE)
        finally:
            self._streams.discard(stream)

    def drop_all(self) -> int:
        """Break every open stream.

        Returns:
            How many streams were dropped.
        """
        streams = list(self._streams)
        for stream in streams:
            stream.dropped = True
            stream.task.cancel()
        return len(streams)


class Faults:
    """The faults a test can switch on: a delay before unary calls, and the stream registry.

    Attributes:
        delay: seconds every unary call waits before it is served (0: none).
        streams: the registry of open streams.
    """

    def __init__(self) -> None:
        self.delay = 0.0
        self.streams = StreamRegistry()

    async def before_unary(self) -> None:
        """Wait the configured delay (an asyncio sleep: other calls keep being served)."""
        if self.delay > 0:
            await asyncio.sleep(self.delay)
