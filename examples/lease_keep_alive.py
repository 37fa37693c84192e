"""Keep a lease alive in the background with ``keep_alive``; stop, and the key expires.

python examples/lease_keep_alive.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

from _common import connect, parser, scratch

from etcd3py import EventType


def main(argv: list[str] | None = None) -> int:
    """Let the client renew a 2-second lease four times, then stop renewing."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "lease-keepalive") as p:
        lease = client.grant(2)
        put = client.put(p + "k", "v", lease=lease.id)
        with client.keep_alive(lease.id) as ka:
            for n, resp in enumerate(ka, start=1):
                print(f"renewal {n}: ttl {resp.ttl}s")
                if n == 4:
                    break
        print(f"after the renewals the key still exists: {len(client.get(p + 'k').kvs) == 1}")
        print("stopped renewing; waiting for the lease to expire")
        with client.watch(p + "k", rev=put.header.revision + 1) as chan:
            for wresp in chan:
                if wresp.err() is not None:
                    print(f"watch ended: {wresp.err()}")
                    return 1
                if any(ev.type == EventType.DELETE for ev in wresp.events):
                    break
        print(f"the key is gone: {len(client.get(p + 'k').kvs) == 0}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
