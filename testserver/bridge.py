"""A loopback TCP bridge that tests put between a client and a server to cut connections.

As etcd's ``tests/framework/integration/bridge.go``: the client dials the bridge, the bridge
dials the server, and the test may drop every open connection (``cut()``) and refuse new ones
for a while (``block()`` / ``unblock()``), which a client sees as a lost connection.
Two pump threads per connection and one accept thread; ``close()`` stops and joins them all.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from types import TracebackType

__all__ = ["Bridge", "close_both"]

_POLL = 0.2  # seconds the accept loop waits before looking at the stop flag
_JOIN = 5.0


class Bridge:
    """Forwards ``127.0.0.1:<port>`` to ``target`` ("host:port") until closed.

    Attributes:
        endpoint: ``"127.0.0.1:PORT"`` for the client to dial.
    """

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self.endpoint = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()  # guards _conns, _threads, _blocked
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._blocked = False
        self._stop = threading.Event()
        self.accepted = 0  # connections forwarded so far (read by tests)
        self._acceptor = threading.Thread(target=self._accept_loop, name="bridge-accept")
        self._acceptor.start()

    def cut(self) -> int:
        """Drop every open connection; return how many there were."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        return len(conns) // 2

    def block(self) -> None:
        """Refuse new connections (close them at once) until :meth:`unblock`."""
        with self._lock:
            self._blocked = True

    def unblock(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._blocked = False

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Cut every connection and refuse new ones inside the ``with`` block."""
        self.block()
        self.cut()
        try:
            yield
        finally:
            self.unblock()

    def close(self) -> None:
        """Stop accepting, drop every connection, join every thread."""
        self._stop.set()
        with contextlib.suppress(OSError):  # wakes the accept at once (else: its next poll)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(_JOIN)
        self._listener.close()
        self.cut()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(_JOIN)

    def __enter__(self) -> Bridge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        with self._lock:
            blocked = self._blocked
        if blocked:
            client.close()
            return
        try:
            server = socket.create_connection(self._target, timeout=2.0)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.settimeout(None)
            # A proxy must not add Nagle's delay (40 ms per small write against delayed ACKs,
            # e.g. per watch create request) on top of what it forwards.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._conns += [client, server]
            self.accepted += 1
            for src, dst, upstream in ((client, server, True), (server, client, False)):
                thread = threading.Thread(
                    target=self._pump, args=(src, dst, upstream), name="bridge-pump"
                )
                self._threads.append(thread)
                thread.start()
            self._threads = [t for t in self._threads if t.is_alive()]

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        """Copy bytes from ``src`` to ``dst`` until either side closes.

        ``upstream``: ``src`` is the client (a subclass may treat those bytes otherwise).
        """
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        close_both(src, dst)


def close_both(src: socket.socket, dst: socket.socket) -> None:
    """Shut both sockets of a forwarded connection down (the pumps' last act)."""
    for sock in (src, dst):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
