"""A distributed lock (``concurrency.Mutex``): two sessions take turns; ``try_lock`` fails fast.

    python examples/lock.py [--endpoint HOST:PORT]

The lock is compatible with Go's ``concurrency.Mutex`` and ``etcdctl lock`` on the same name.
"""

from __future__ import annotations

import threading

from _common import connect, parser, scratch

from etcd3py.concurrency import Mutex, Session
from etcd3py.errors import LockedError


def main(argv: list[str] | None = None) -> int:
    """Hold the lock in one session while another waits for it."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "lock") as p:
        s1, s2 = Session(client, ttl=10), Session(client, ttl=10)
        with s1, s2:
            first, second = Mutex(s1, p + "job"), Mutex(s2, p + "job")
            first.lock()
            print("session 1 holds the lock")
            try:
                second.try_lock()
            except LockedError as exc:
                print(f"session 2 try_lock: LockedError: {exc}")
            acquired = threading.Event()

            def wait_for_lock() -> None:
                second.lock(timeout=30)
                acquired.set()

            waiter = threading.Thread(target=wait_for_lock)
            waiter.start()
            print("session 2 waits for the lock...")
            first.unlock()
            print("session 1 released the lock")
            waiter.join(30)
            print(f"session 2 holds the lock: {acquired.is_set()}")
            second.unlock()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
