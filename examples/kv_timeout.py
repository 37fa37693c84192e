"""A timeout: a call given ``timeout=`` on a slow server fails with ``DeadlineExceededError``.

    python examples/kv_timeout.py [--endpoint HOST:PORT]

On the reference server started in-process, the server itself is told to answer late
(``Server.set_delay``). Against another etcd, which answers fast, the client talks to it
through a small local relay that holds each request back while it is told to.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

from _common import connect, parser, scratch

from etcd3py import Client
from etcd3py.errors import DeadlineExceededError


class DelayingRelay:
    """A loopback TCP relay to ``upstream`` that can hold requests back for ``delay`` seconds."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.delay = 0.0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                down, _ = self.listener.accept()
                up = socket.create_connection(self.upstream)
                self.sockets += [down, up]
                threading.Thread(target=self._pump, args=(down, up, True), daemon=True).start()
                threading.Thread(target=self._pump, args=(up, down, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                if requests and self.delay:
                    threading.Event().wait(self.delay)  # the slowness being demonstrated
                dst.sendall(chunk)

    def close(self) -> None:
        """Close every socket; the pump threads end."""
        for sock in self.sockets:
            sock.close()


@contextlib.contextmanager
def slow_client(
    client: Client, endpoint: str | None
) -> Iterator[tuple[Client, Callable[[float], None]]]:
    """Yield a client whose server can be slowed down, and the function that sets the delay."""
    if endpoint is None:
        yield client, lambda seconds: None
        return
    relay = DelayingRelay(endpoint)

    def set_delay(seconds: float) -> None:
        relay.delay = seconds

    try:
        with Client(endpoints=[relay.endpoint]) as relayed:
            yield relayed, set_delay
    finally:
        relay.close()


def main(argv: list[str] | None = None) -> int:
    """Make one call miss its deadline, then succeed without the delay."""
    args = parser(__doc__).parse_args(argv)
    with (
        connect(args.endpoint) as (client, server),
        scratch(client, "timeout") as p,
        slow_client(client, args.endpoint) as (slow, relay_delay),
    ):
        set_delay = server.set_delay if server is not None else relay_delay
        set_delay(1.0)
        print("the server now answers 1.0s late")
        try:
            slow.get(p + "k", timeout=0.2)
        except DeadlineExceededError as exc:
            print(f"get with timeout=0.2: DeadlineExceededError: {exc}")
        set_delay(0)
        slow.get(p + "k", timeout=5.0)
        print("with time enough, the call succeeds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
