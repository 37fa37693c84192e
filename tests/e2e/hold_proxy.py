"""A loopback TCP proxy that can hold back what the client sends, to keep a call in flight.

The client dials the proxy, the proxy dials the server. Inside ``with proxy.hold():`` the
bytes the client sends are read but not forwarded (so a call made then never reaches the
server and stays in flight until its ctx ends), and :attr:`HoldProxy.held` is set when the
first such byte arrives: the moment a test knows the request has left the client. When the
hold ends, every connection is dropped with what it held (the server never sees a partial
request); the client reconnects on its next call. Works the same in front of the reference
server and a real etcd. It is a :class:`~testserver.bridge.Bridge` with another pump.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from testserver.bridge import Bridge, close_both

_PREFACE = len(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")  # what a client sends first
_HEADERS = 0x1  # the HTTP/2 frame type that opens a stream: one per gRPC call


class _FrameTypes:
    """Splits what an HTTP/2 client sends into frames and tells their types."""

    def __init__(self) -> None:
        self._skip = _PREFACE
        self._buf = b""

    def feed(self, data: bytes) -> list[int]:
        """Take the next bytes; return the types of the frames they completed."""
        self._buf += data
        if self._skip:
            cut = min(self._skip, len(self._buf))
            self._buf, self._skip = self._buf[cut:], self._skip - cut
        types = []
        while len(self._buf) >= 9:
            end = 9 + int.from_bytes(self._buf[:3], "big")
            if len(self._buf) < end:
                break
            types.append(self._buf[3])
            self._buf = self._buf[end:]
        return types


class HoldProxy(Bridge):
    """A :class:`~testserver.bridge.Bridge` that can hold back what the client sends.

    Attributes:
        endpoint: ``"127.0.0.1:PORT"`` for the client to dial.
        held: set when a call arrived during the current hold (and was kept back).
        passed: set when a call was forwarded to the server (clear it before the call).
    """

    def __init__(self, target: str) -> None:
        self._holding = False  # guarded by the bridge's lock
        self.held = threading.Event()  # set by a pump thread, read by the test
        self.passed = threading.Event()  # likewise
        super().__init__(target)

    @contextlib.contextmanager
    def hold(self) -> Iterator[HoldProxy]:
        """Keep back every byte the client sends inside the block; then drop the connections.

        Yields:
            This proxy (``held`` says whether a request arrived).
        """
        with self._lock:
            self._holding = True
            self.held.clear()
        try:
            yield self
        finally:
            with self._lock:
                self._holding = False
            self.cut()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        """Copy ``src`` to ``dst``; upstream bytes read during a hold are kept back."""
        frames = _FrameTypes()
        try:
            while data := src.recv(65536):
                if upstream:
                    types = frames.feed(data)
                    with self._lock:
                        holding = self._holding
                    if holding:  # the connection is dropped when the hold ends
                        if _HEADERS in types:
                            self.held.set()
                        continue
                dst.sendall(data)
                if upstream and _HEADERS in types:
                    self.passed.set()
        except OSError:
            pass
        close_both(src, dst)
