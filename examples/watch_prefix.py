"""Watch a prefix and print each event as CREATE, MODIFY or DELETE.

python examples/watch_prefix.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

from _common import connect, parser, scratch, text

from etcd3py.watch import Event


def kind(ev: Event) -> str:
    """Name the event: CREATE, MODIFY or DELETE."""
    if ev.is_create():
        return "CREATE"
    return "MODIFY" if ev.is_modify() else "DELETE"


def main(argv: list[str] | None = None) -> int:
    """Watch a prefix while changing keys under it."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "watch") as p:
        start = client.get(p).header.revision + 1
        with client.watch(p, prefix=True, rev=start) as chan:
            client.put(p + "job", "queued")
            client.put(p + "job", "running")
            client.delete(p + "job")
            seen = 0
            while seen < 3:
                wresp = chan.get(timeout=10.0)
                if wresp is None or wresp.err() is not None:
                    print(f"watch ended: {wresp.err() if wresp else 'no event in time'}")
                    return 1
                for ev in wresp.events:
                    seen += 1
                    print(f"{kind(ev)} {text(ev.kv.key).removeprefix(p)} {text(ev.kv.value)!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
