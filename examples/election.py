"""Leader election (``concurrency.Election``): campaign, proclaim, resign, observe.

python examples/election.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import queue
import threading

from _common import connect, parser, scratch, text

from etcd3py.concurrency import Election, Session


def main(argv: list[str] | None = None) -> int:
    """Two candidates; an observer prints every leader change."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "election") as p:
        s1, s2 = Session(client, ttl=10), Session(client, ttl=10)
        with s1, s2:
            name = p + "scheduler"
            alice, bob = Election(s1, name), Election(s2, name)
            observer = Election(s1, name).observe()
            seen: queue.Queue[str] = queue.Queue()

            def follow() -> None:
                for kv in observer:  # this thread only collects; main prints, in order
                    seen.put(text(kv.value))

            def show_observed() -> None:
                print(f"observer: the leader says {seen.get(timeout=30)!r}")

            follower = threading.Thread(target=follow)
            follower.start()
            alice.campaign("alice")
            show_observed()  # the observer saw alice before she speaks again
            print(f"alice leads: {text(alice.leader().kvs[0].value)!r}")
            candidate = threading.Thread(target=bob.campaign, args=("bob",))
            candidate.start()
            alice.proclaim("alice, busy")
            alice.resign()
            candidate.join(30)
            show_observed()  # "alice, busy"
            show_observed()  # "bob"
            print(f"after alice resigned, the leader is {text(bob.leader().kvs[0].value)!r}")
            observer.close()
            follower.join(30)
            bob.resign()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
