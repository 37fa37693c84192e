"""Compaction: history before the compacted revision is gone (``CompactedError``).

    python examples/kv_compaction.py [--endpoint HOST:PORT]

Compaction applies to the whole key space: against a shared etcd it drops everyone's
history up to now.
"""

from __future__ import annotations

from _common import connect, parser, scratch, text

from etcd3py.errors import CompactedError


def main(argv: list[str] | None = None) -> int:
    """Write a key twice, compact, then read the old revision."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "compaction") as p:
        key = p + "k"
        first = client.put(key, "old").header.revision
        latest = client.put(key, "new").header.revision
        old = client.get(key, rev=first).kvs[0]
        print(f"before compaction, at the first revision: {text(old.value)!r}")
        client.compact(latest)
        print("compacted up to the latest revision")
        try:
            client.get(key, rev=first)
        except CompactedError as exc:
            print(f"reading the first revision: CompactedError: {exc}")
        print(f"the latest value survives: {text(client.get(key).kvs[0].value)!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
