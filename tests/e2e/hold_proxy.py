"""A loopback TCP proxy that can hold back what the client sends, to keep a call in flight.

The client dials the proxy, the proxy dials the server. Inside ``with proxy.hold():`` the
bytes the client sends are read but not forwarded (so a call made then never reaches the
server and stays in flight until its ctx ends), and :attr:`HoldProxy.held` is set when the
first such byte arrives: the moment a test knows the request has left the client. When the
hold ends, every connection is dropped with what it held (the server never sees a partial
request); the client reconnects on its next call. Works the same in front of the reference
server and a real etcd. One accept thread and two pump threads per connection; ``close()``
stops and joins them all.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from types import TracebackType

_POLL = 0.2  # seconds the accept loop waits before looking at the stop flag
_JOIN = 5.0
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


class HoldProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target`` ("host:port") until closed.

    Attributes:
        endpoint: ``"127.0.0.1:PORT"`` for the client to dial.
        held: set when a call arrived during the current hold (and was kept back).
        passed: set when a call was forwarded to the server (clear it before the call).
    """

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self.endpoint = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()  # guards _conns, _threads, _holding
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._holding = False
        self.held = threading.Event()  # set by a pump thread, read by the test
        self.passed = threading.Event()  # likewise
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, name="hold-proxy-accept")
        self._acceptor.start()

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
            self._cut()

    def close(self) -> None:
        """Stop accepting, drop every connection, join every thread."""
        self._stop.set()
        self._acceptor.join(_JOIN)
        self._listener.close()
        self._cut()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(_JOIN)

    def __enter__(self) -> HoldProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _cut(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self._target, timeout=2.0)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pumps = (
                threading.Thread(target=self._pump, args=(client, server, True)),
                threading.Thread(target=self._pump, args=(server, client, False)),
            )
            with self._lock:
                self._conns += [client, server]
                self._threads = [t for t in self._threads if t.is_alive()] + list(pumps)
            for pump in pumps:
                pump.start()

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
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
