"""Pieces shared by the bidirectional-stream drivers (watch and lease keep-alive).

Owns the request iterator that gRPC's consumer thread drains for ONE call
(:class:`RequestQueue`), the reconnect backoff (:func:`backoff`) and cancelling a call.
No threads of its own, no etcd logic: :mod:`etcd3py._watch_stream` and
:mod:`etcd3py._keepalive` build on it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import grpc

_T = TypeVar("_T")


def cancel_call(call: grpc.Call | Any) -> None:
    """Cancel a streaming call (harmless once it ended).

    Args:
        call: the call object gRPC returned.
    """
    call.cancel()


class RequestQueue(Generic[_T]):
    """The request iterator of ONE call: gRPC's consumer thread blocks here.

    It wakes every ``poll`` seconds to notice :meth:`end` even if the sentinel were lost, as
    api-core's ``_RequestQueueGenerator`` does: a consumer blocked forever would pin the
    call. A queue is never reused by a later call, so a dead call never takes a request
    meant for the next one.

    With ``tick``, each wake-up (and each request taken) also calls ``tick()`` on the
    consumer thread and sends what it returns: the keep-alive driver uses that for its
    timer, so a call needs no thread of its own to send requests on time.
    """

    def __init__(
        self, *, poll: float = 1.0, tick: Callable[[], Iterable[_T]] | None = None
    ) -> None:
        """Create an empty queue.

        Args:
            poll: the longest the consumer sleeps between two looks at the queue, in seconds.
            tick: called at each wake-up; the requests it returns are sent in order.
        """
        self._queue: queue.SimpleQueue[_T | None] = queue.SimpleQueue()
        self._ended = threading.Event()
        self._poll = poll
        self._tick = tick

    def put(self, request: _T) -> None:
        """Queue a request for the call (dropped once the queue ended).

        Args:
            request: the request message.
        """
        if not self._ended.is_set():
            self._queue.put(request)

    def end(self) -> None:
        """End the iteration: gRPC half-closes the call's sending side."""
        self._ended.set()
        self._queue.put(None)

    @property
    def ended(self) -> bool:
        """Whether :meth:`end` was called."""
        return self._ended.is_set()

    def __iter__(self) -> Iterator[_T]:
        while not self._ended.is_set():
            if self._tick is not None:
                for request in self._tick():
                    if self._ended.is_set():
                        return
                    yield request
            try:
                item = self._queue.get(timeout=self._poll)
            except queue.Empty:
                continue
            if item is None:
                return
            yield item
