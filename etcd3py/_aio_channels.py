"""The asyncio client's channels: the current one, and those replaced that still serve calls.

The asyncio counterpart of :class:`etcd3py._channel.SwitchableChannel`. A ``grpc.aio`` stub
is bound to one channel, so each channel comes with its own stubs (a
:class:`Generation`); a call or a stream *holds* the generation it started on
(:meth:`AioChannels.held`), and :meth:`AioChannels.switch` makes a new channel current
for every later call and stream (re)connect. A replaced channel is closed by the last call
to leave it (closing cancels what still runs on it), at once when none runs; ``close()``
closes every channel. No task of its own: the closing is awaited by whoever ends last.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import grpc
import grpc.aio

from etcd3py._transport import _STUBS

__all__ = ["AioChannels", "Generation"]


class Generation:
    """One channel of the client, its stubs by service name, and its count of running calls.

    Attributes:
        channel: the ``grpc.aio`` channel.
        stubs: ``"kv"``, ``"lease"``, ``"cluster"``, ``"maintenance"``, ``"auth"`` stubs on it.
        running: how many calls and streams hold it.
        retired: whether a newer channel replaced it.
    """

    __slots__ = ("channel", "retired", "running", "stubs")

    def __init__(self, channel: grpc.aio.Channel) -> None:
        """Make the stubs of ``channel``.

        Args:
            channel: the channel (not yet connected).
        """
        self.channel = channel
        self.stubs: dict[str, Any] = {
            name: make(cast(grpc.Channel, channel)) for name, make in _STUBS.items()
        }
        self.running = 0
        self.retired = False


class AioChannels:
    """The current :class:`Generation` and the replaced ones still in use; one event loop."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        """Start with ``channel`` current.

        Args:
            channel: the first channel.
        """
        self.current = Generation(channel)
        self._retired: list[Generation] = []

    @property
    def retired_count(self) -> int:
        """How many replaced channels still wait for their calls to end."""
        return len(self._retired)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[Generation]:
        """Hold the current generation while a call or a stream runs on it.

        Yields:
            The generation; if it was replaced meanwhile, the last holder closes it.
        """
        gen = self.acquire()
        try:
            yield gen
        finally:
            if self.release(gen):
                await self.close_released(gen)

    def acquire(self) -> Generation:
        """Hold the current generation (what :meth:`held` does, without a context manager,
        for the unary path); give it back with :meth:`release`.

        Returns:
            The generation.
        """
        gen = self.current
        gen.running += 1
        return gen

    def release(self, gen: Generation) -> bool:
        """Give back a generation :meth:`acquire` held.

        Returns:
            Whether it was replaced and nothing holds it any more: then await
            :meth:`close_released`.
        """
        gen.running -= 1
        return gen.retired and gen.running == 0

    async def close_released(self, gen: Generation) -> None:
        """Close a replaced generation its last holder released."""
        await self._close(gen)

    def switch(self, channel: grpc.aio.Channel) -> Generation:
        """Make ``channel`` current at once; then await :meth:`close_idle`.

        Args:
            channel: the new channel (already opened).

        Returns:
            The new current generation.
        """
        previous, self.current = self.current, Generation(channel)
        previous.retired = True
        self._retired.append(previous)
        return self.current

    async def close_idle(self) -> None:
        """Close the replaced channels that nothing holds any more."""
        for gen in [g for g in self._retired if g.running == 0]:
            await self._close(gen)

    async def close(self) -> None:
        """Close every channel, current and replaced (their calls are cancelled)."""
        for gen in [*self._retired, self.current]:
            await self._close(gen)

    async def _close(self, gen: Generation) -> None:
        await gen.channel.close(None)
        if gen in self._retired:  # only once closed: an interrupted close is done by close()
            self._retired.remove(gen)
