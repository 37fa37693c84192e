"""Renew a lease by hand with ``keep_alive_once``: the key outlives the lease's first TTL.

python examples/lease_keep_alive_once.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import time

from _common import connect, parser, scratch


def main(argv: list[str] | None = None) -> int:
    """Renew a 2-second lease three times, a second apart, then revoke it."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "lease-once") as p:
        lease = client.grant(2)
        client.put(p + "k", "v", lease=lease.id)
        for n in range(1, 4):
            time.sleep(1.0)  # the demo's pacing: renew before the 2s run out
            resp = client.keep_alive_once(lease.id)
            print(f"renewal {n}: ttl back to {resp.ttl}s")
        print(f"after 3s the key still exists: {len(client.get(p + 'k').kvs) == 1}")
        client.revoke(lease.id)
        print(f"revoked: the key exists: {len(client.get(p + 'k').kvs) == 1}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
