"""A gRPC channel whose underlying connection can be replaced while calls run on it.

Owns :class:`SwitchableChannel`, the object every stub of a client is built on (the
transport's ``channel``). A stub's methods are bound when the stub is made, so swapping a
plain ``grpc.Channel`` under them is impossible; instead each method of a stub made on a
:class:`SwitchableChannel` is a small forwarder that, at every call, takes the *current*
generation's real channel. So kv, cluster, maintenance, lease, the keep-alive and watch
drivers, and auth all pick up a new endpoint list at their next call or (re)connect, with no
change to their code.

Generations: :meth:`SwitchableChannel.switch` opens nothing itself; it takes a ready-made
channel, makes it current, and retires the previous one. A retired channel is closed as soon
as no call that started on it is still running (unary calls, futures, and streams are
counted; a stream counts until it ends). Closing a gRPC channel cancels its calls with
``CANCELLED``, which a watch would take as fatal; waiting for them lets every call end by
itself, as grpc-go drains a removed address gracefully. A stream on a retired channel keeps
working while its member lives; when it breaks, its driver reconnects through the current
channel. :meth:`SwitchableChannel.close` closes every generation at once (client close).

Thread-safe, and a call takes no lock: a generation counts its running calls in a list
(``list.append``/``list.pop`` are atomic), and a switch and a call's end each write their
own mark before reading the other's (the switch: ``retired``, then the count; a call: its
count, then ``retired``), so at least one of them sees the channel drained and closes it
(:meth:`SwitchableChannel._close_drained`, under the lock, closes it once). A call that
finds its generation retired as it starts releases it and takes the new current one. The
lock guards the generation list, the subscriptions and the close itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc

_Factory = Callable[[grpc.Channel], Any]


class _Generation:
    """One real channel, its forwarder cache and its count of running calls."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.callables: dict[tuple[str, str], Any] = {}
        self.calls: list[None] = []  # one item per running call (see the module docstring)
        self.retired = False
        self.closed = False


class SwitchableChannel(grpc.Channel):
    """A ``grpc.Channel`` that forwards each call to its current real channel.

    Args:
        channel: the first real channel.
    """

    def __init__(self, channel: grpc.Channel) -> None:
        self._lock = threading.Lock()
        self._current = _Generation(channel)
        self._retired: list[_Generation] = []
        self._subscriptions: dict[Any, grpc.Channel] = {}

    # ---- generations ----------------------------------------------------------------------

    @property
    def current(self) -> grpc.Channel:
        """The real channel new calls go to."""
        return self._current.channel

    @property
    def retired_count(self) -> int:
        """How many replaced channels still wait for their calls to end."""
        with self._lock:
            return len(self._retired)

    def switch(self, channel: grpc.Channel) -> None:
        """Make ``channel`` current; close the previous one once its calls have ended.

        Args:
            channel: the new real channel (already opened).
        """
        with self._lock:
            old, self._current = self._current, _Generation(channel)
            self._retired.append(old)
            old.retired = True  # before the count is read (see the module docstring)
        self._close_drained(old)

    def _bind(self, gen: _Generation, kind: str, method: str, factory: _Factory) -> Any:
        """The callable of ``method`` on ``gen``'s channel (made once per generation)."""
        key = (kind, method)
        bound = gen.callables.get(key)
        if bound is None:
            bound = gen.callables[key] = factory(gen.channel)
        return bound

    def _release(self, gen: _Generation) -> None:
        gen.calls.pop()
        if gen.retired:  # read after the count changed (see the module docstring)
            self._close_drained(gen)

    def _close_drained(self, gen: _Generation) -> None:
        """Close retired ``gen`` if no call runs on it (once, whoever sees it first)."""
        with self._lock:
            if gen.calls or gen.closed:
                return
            gen.closed = True
            if gen in self._retired:
                self._retired.remove(gen)
        gen.channel.close()

    def _release_once(self, gen: _Generation) -> Callable[..., None]:
        done = threading.Event()
        lock = threading.Lock()

        def release(*_: object) -> None:
            with lock:
                if done.is_set():
                    return
                done.set()
            self._release(gen)

        return release

    # ---- grpc.Channel -----------------------------------------------------------------------

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        """Watch the connectivity of the current real channel (see ``grpc.Channel``)."""
        with self._lock:
            channel = self._current.channel
            self._subscriptions[callback] = channel
        channel.subscribe(callback, try_to_connect=try_to_connect)

    def unsubscribe(self, callback: Any) -> None:
        """Stop a :meth:`subscribe` (on the channel it was made on)."""
        with self._lock:
            channel = self._subscriptions.pop(callback, None)
        if channel is not None:
            channel.unsubscribe(callback)

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return a forwarder for a unary-unary method (see ``grpc.Channel``)."""
        return _UnaryUnary(self, method, lambda ch: ch.unary_unary(method, *args, **kwargs))

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return a forwarder for a unary-stream method (see ``grpc.Channel``)."""
        return _Streaming(self, method, lambda ch: ch.unary_stream(method, *args, **kwargs))

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return a forwarder for a stream-unary method (see ``grpc.Channel``)."""
        return _UnaryUnary(self, method, lambda ch: ch.stream_unary(method, *args, **kwargs))

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return a forwarder for a stream-stream method (see ``grpc.Channel``)."""
        return _Streaming(self, method, lambda ch: ch.stream_stream(method, *args, **kwargs))

    def close(self) -> None:
        """Close every generation's channel now (running calls are cancelled)."""
        with self._lock:
            gens = [self._current, *self._retired]
            self._retired = []
            for gen in gens:
                gen.closed = True
        for gen in gens:
            gen.channel.close()

    def __enter__(self) -> SwitchableChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Forwarder:
    """One RPC method of a stub on a :class:`SwitchableChannel`."""

    def __init__(self, owner: SwitchableChannel, method: str, factory: _Factory) -> None:
        self._owner = owner
        self._kind = type(self).__name__
        self._method = method
        self._factory = factory
        # the generation this forwarder last called on and its callable there, in one tuple
        # so that a thread never reads one generation's callable with another's
        self._cached: tuple[_Generation | None, Any] = (None, None)

    def _acquire(self) -> tuple[_Generation, Any]:
        """Count a call on the current generation; return it and the callable to call."""
        owner = self._owner
        while True:
            gen = owner._current
            gen.calls.append(None)  # counted before `retired` is read (module docstring)
            if not gen.retired:
                break
            owner._release(gen)  # switched meanwhile: the new current one takes the call
        if gen.closed:  # the whole channel was closed
            owner._release(gen)
            raise ValueError("Cannot invoke RPC on closed channel!")
        cached_gen, bound = self._cached
        if cached_gen is not gen:
            bound = owner._bind(gen, self._kind, self._method, self._factory)
            self._cached = (gen, bound)
        return gen, bound


class _UnaryUnary(_Forwarder):
    """A response-unary method: blocking call, ``with_call`` and ``future``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        gen, bound = self._acquire()
        try:
            return bound(*args, **kwargs)
        finally:
            self._owner._release(gen)

    def with_call(self, *args: Any, **kwargs: Any) -> Any:
        gen, bound = self._acquire()
        try:
            return bound.with_call(*args, **kwargs)
        finally:
            self._owner._release(gen)

    def future(self, *args: Any, **kwargs: Any) -> Any:
        gen, bound = self._acquire()
        release = self._owner._release_once(gen)
        try:
            fut = bound.future(*args, **kwargs)
        except BaseException:
            release()
            raise
        fut.add_done_callback(release)
        return fut


class _Streaming(_Forwarder):
    """A response-streaming method: the call counts until it terminates."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        gen, bound = self._acquire()
        release = self._owner._release_once(gen)
        try:
            call = bound(*args, **kwargs)
        except BaseException:
            release()
            raise
        if not call.add_callback(release):  # False: the call already ended
            release()
        return call
