"""Context: cancellation, an optional deadline and gRPC metadata, as Go's ``context`` gives.

Owns the :class:`Context` tree: a child is done when its parent is, when its own deadline
passes, or when it is cancelled. Deadlines are served by one shared daemon timer thread
(``etcd3py-deadlines``, started on first use) rather than a thread per context. No gRPC here:
the transport and the watcher read :attr:`Context.metadata` and :meth:`Context.remaining`.

Example::

    ctx = Context.background().with_timeout(5.0).with_require_leader()
    ...
    ctx.cancel()   # ends every call and watch made with ctx (and its children)
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable
from typing import ClassVar

from etcd3py.errors import (
    ArgumentTypeError,
    CanceledError,
    DeadlineExceededError,
    EtcdError,
    InvalidArgumentError,
)

__all__ = ["Context"]

Metadata = tuple[tuple[str, str], ...]


class _DeadlineTimer:
    """One daemon thread that fires contexts' deadlines in time order.

    Fork-safe: in a child process the timer starts afresh (the parent's thread does not
    exist there) with the deadlines the child inherited, so they still fire. A context that
    ends before its deadline is dropped at once (its entry forgets it), so cancelled
    contexts are never held until their deadline.
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def _reset(self) -> None:
        self._cond = threading.Condition()  # guards _heap, _dropped and _thread
        self._heap: list[list[object]] = []  # [when, seq, ctx or None]
        self._dropped = 0
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def _after_fork(self) -> None:
        live = [entry for entry in self._heap if entry[2] is not None]
        self._cond = threading.Condition()  # the parent's may have been held at fork time
        self._thread = None
        self._heap = live
        heapq.heapify(self._heap)
        self._dropped = 0
        if live:
            with self._cond:
                self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="etcd3py-deadlines", daemon=True)
        self._thread.start()

    def schedule(self, when: float, ctx: Context) -> list[object]:
        """Fire ``ctx``'s deadline at ``when``; return the entry :meth:`drop` takes."""
        entry: list[object] = [when, next(self._seq), ctx]
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._start()
            self._cond.notify()
        return entry

    def drop(self, entry: list[object]) -> None:
        """Forget an entry whose context ended first; compact the heap when half is dropped."""
        with self._cond:
            if entry[2] is None:
                return
            entry[2] = None
            self._dropped += 1
            if self._dropped * 2 > len(self._heap):
                self._heap = [e for e in self._heap if e[2] is not None]
                heapq.heapify(self._heap)
                self._dropped = 0

    def pending(self) -> int:
        """The number of contexts waiting for their deadline (for tests)."""
        with self._cond:
            return len(self._heap) - self._dropped

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:  # type: ignore[operator]
                        entry = heapq.heappop(self._heap)
                        ctx = entry[2]
                        if ctx is None:
                            self._dropped -= 1
                            continue
                        entry[2] = None
                        break
                    wait = self._heap[0][0] - now if self._heap else None  # type: ignore[operator]
                    self._cond.wait(wait)
            assert isinstance(ctx, Context)
            ctx._finish(DeadlineExceededError("context deadline exceeded"))


_TIMER = _DeadlineTimer()


class Context:
    """A cancellable scope for calls and watches, with an optional deadline and metadata.

    Build one from :meth:`background` and its ``with_*`` methods; never share the background
    context's cancellation (it has none).

    Attributes:
        deadline: the ``time.monotonic()`` time at which the context ends, or ``None``.
        metadata: gRPC metadata pairs sent with every call made under this context.
    """

    __slots__ = (
        "_callbacks",
        "_done",
        "_err",
        "_lock",
        "_parent",
        "_timer_entry",
        "deadline",
        "metadata",
    )

    _background: ClassVar[Context | None] = None

    def __init__(
        self,
        parent: Context | None = None,
        *,
        deadline: float | None = None,
        metadata: Metadata = (),
    ) -> None:
        """Create a context; prefer :meth:`background` and its ``with_*`` methods.

        Args:
            parent: the context this one ends with, or ``None`` for a root.
            deadline: a ``time.monotonic()`` time after which it is done, or ``None``.
            metadata: extra gRPC metadata pairs, added to the parent's.
        """
        self._parent = parent
        self._lock = threading.Lock()  # guards _err and _callbacks
        self._done = threading.Event()
        self._err: EtcdError | None = None
        self._callbacks: list[Callable[[], None]] = []
        inherited = parent.deadline if parent is not None else None
        if inherited is not None and (deadline is None or inherited < deadline):
            deadline = inherited
        self.deadline: float | None = deadline
        self.metadata: Metadata = (parent.metadata if parent else ()) + tuple(metadata)
        self._timer_entry: list[object] | None = None
        if parent is not None:
            parent.add_done_callback(self._on_parent_done)
        if deadline is not None and not self._done.is_set():
            entry = _TIMER.schedule(deadline, self)
            with self._lock:
                if self._err is None:
                    self._timer_entry = entry
            if self._timer_entry is None:
                _TIMER.drop(entry)

    @classmethod
    def background(cls) -> Context:
        """Return the root context: never cancelled, no deadline, no metadata.

        Returns:
            The shared background context.
        """
        if cls._background is None:
            cls._background = cls()
        return cls._background

    def with_cancel(self) -> Context:
        """Return a child that ends with this context or when its own ``cancel()`` is called.

        Returns:
            The child context.
        """
        return Context(self)

    def with_timeout(self, seconds: float) -> Context:
        """Return a child that also ends ``seconds`` from now.

        Args:
            seconds: the time limit, in seconds.

        Returns:
            The child context.

        Raises:
            ArgumentTypeError: ``seconds`` is not a number.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ArgumentTypeError(f"timeout must be a number, not {type(seconds).__name__}")
        return Context(self, deadline=time.monotonic() + float(seconds))

    def with_deadline(self, deadline: float) -> Context:
        """Return a child that also ends at ``deadline`` (a ``time.monotonic()`` time).

        Args:
            deadline: when the child ends.

        Returns:
            The child context.
        """
        return Context(self, deadline=deadline)

    def with_metadata(self, *pairs: tuple[str, str]) -> Context:
        """Return a child whose calls also carry these gRPC metadata pairs.

        Args:
            *pairs: ``(key, value)`` pairs; keys must be lower case, as gRPC requires.

        Returns:
            The child context.
        """
        return Context(self, metadata=tuple(pairs))

    def with_require_leader(self) -> Context:
        """Return a child whose calls fail when the member has no leader (``hasleader``).

        As clientv3's ``WithRequireLeader``: a watch made with it is cancelled by the server
        when the member loses its leader, instead of hanging on a partitioned member.

        Returns:
            The child context.
        """
        return self.with_metadata(("hasleader", "true"))

    @property
    def done(self) -> bool:
        """Whether the context has ended (cancelled, or past its deadline)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the context ends, at most ``timeout`` seconds.

        Args:
            timeout: seconds to wait; ``None`` waits as long as it takes.

        Returns:
            Whether the context has ended.
        """
        return self._done.wait(timeout)

    def err(self) -> EtcdError | None:
        """Return why the context ended.

        Returns:
            ``None`` while it is live; else a :class:`~etcd3py.errors.CanceledError` or a
            :class:`~etcd3py.errors.DeadlineExceededError`.
        """
        with self._lock:
            return self._err

    def remaining(self) -> float | None:
        """Return the seconds left before the deadline (never negative), or ``None``.

        Returns:
            Seconds left, or ``None`` when there is no deadline.
        """
        if self.deadline is None:
            return None
        return max(self.deadline - time.monotonic(), 0.0)

    def cancel(self) -> None:
        """End this context and its children; calls and watches made with it are cancelled.

        Idempotent. The first reason wins: a context past its deadline stays so.

        Raises:
            InvalidArgumentError: this is the background context, which cannot be cancelled.
        """
        if self is Context._background:
            raise InvalidArgumentError("the background context cannot be cancelled")
        self._finish(CanceledError("context canceled"))

    def add_done_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback()`` once when the context ends (at once if it already has).

        The callback runs on the thread that ends the context; keep it short.

        Args:
            callback: the function to call.

        Returns:
            A function that unregisters the callback (harmless after it ran).
        """
        with self._lock:
            if self._err is None:
                self._callbacks.append(callback)
                return lambda: self._remove_callback(callback)
        callback()
        return lambda: None

    def _remove_callback(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def _on_parent_done(self) -> None:
        assert self._parent is not None
        self._finish(self._parent.err() or CanceledError("context canceled"))

    def _finish(self, err: EtcdError) -> None:
        with self._lock:
            if self._err is not None:
                return
            self._err = err
            callbacks, self._callbacks = self._callbacks, []
            entry, self._timer_entry = self._timer_entry, None
        self._done.set()
        if entry is not None:
            _TIMER.drop(entry)
        if self._parent is not None:
            self._parent._remove_callback(self._on_parent_done)
        for callback in callbacks:
            callback()

    def __repr__(self) -> str:
        state = "live" if self._err is None else type(self._err).__name__
        return f"Context({state}, remaining={self.remaining()}, metadata={self.metadata!r})"
