"""Revoke a lease: every key attached to it goes at once.

python examples/lease_revoke.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

from _common import connect, parser, scratch, text


def main(argv: list[str] | None = None) -> int:
    """Attach two keys to a lease, list them, revoke the lease."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "lease-revoke") as p:
        lease = client.grant(60)
        client.put(p + "a", "1", lease=lease.id)
        client.put(p + "b", "2", lease=lease.id)
        ttl = client.time_to_live(lease.id, keys=True)
        names = sorted(text(k).removeprefix(p) for k in ttl.keys)
        print(f"lease {lease.id:x}: granted {ttl.granted_ttl}s, keys {names}")
        client.revoke(lease.id)
        left = client.get(p, prefix=True, count_only=True).count
        print(f"revoked; keys left under the prefix: {left}")
        print(f"time_to_live after revoke: {client.time_to_live(lease.id).ttl}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
