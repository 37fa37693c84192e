"""Namespaces: one client-wide prefix, the recommended way to share a cluster between apps.

python examples/namespace.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

from _common import connect, parser, scratch, text


def main(argv: list[str] | None = None) -> int:
    """Write and read through a namespaced client, and look at the real keys."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "namespace") as p:
        client.put(p + "outside", "not the app's")
        with client.with_namespace(p + "app/") as app:
            app.put("config", "blue")
            lease = app.grant(60)
            app.put("worker", "up", lease=lease.id)
            names = [text(kv.key) for kv in app.get("", prefix=True).kvs]
            print(f"the app sees: {names}")
            real = [text(kv.key).removeprefix(p) for kv in client.get(p, prefix=True).kvs]
            print(f"the cluster holds: {real}")
            keys = [text(k) for k in app.time_to_live(lease.id, keys=True).keys]
            print(f"the app's lease holds: {keys}")
            app.revoke(lease.id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
