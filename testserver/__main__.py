"""``python -m testserver --port N [--progress-interval S] [--auth-token-ttl S]``: serve.

Serves until SIGINT or SIGTERM.

Prints ``listening on HOST:PORT`` once serving (``--port 0`` picks a free port), then stops
cleanly on SIGINT/SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from testserver.auth import DEFAULT_TOKEN_TTL
from testserver.server import Server
from testserver.services.watch import DEFAULT_PROGRESS_INTERVAL


def main(argv: list[str] | None = None) -> int:
    """Run the server from the command line.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0 after a clean stop).
    """
    parser = argparse.ArgumentParser(
        prog="python -m testserver",
        description="Serve the pure-Python reference etcd 3.5.1 (one member, data in memory). "
        "Prints 'listening on HOST:PORT' once serving; stops on Ctrl-C or SIGTERM and "
        "exits 0.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=2379,
        help="port to listen on (default 2379; 0 picks a free one)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=DEFAULT_PROGRESS_INTERVAL,
        metavar="S",
        help="seconds between watch progress notifications (default 600, minimum 0.1)",
    )
    parser.add_argument(
        "--auth-token-ttl",
        type=float,
        default=DEFAULT_TOKEN_TTL,
        metavar="S",
        help="seconds an auth token lives after its last use (default 300)",
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server = Server(
        port=args.port,
        host=args.host,
        progress_interval=args.progress_interval,
        auth_token_ttl=args.auth_token_ttl,
    )
    server.start()
    try:
        print(f"listening on {server.endpoint}", flush=True)
        while not stop.wait(0.5):  # short waits so the signal handler runs promptly
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
