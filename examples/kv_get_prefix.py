"""Read keys by prefix: sorted by value, limited, and keys only (``WithPrefix``, ``WithSort``).

python examples/kv_get_prefix.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

from _common import connect, parser, scratch, text

from etcd3py import SortOrder, SortTarget
from etcd3py.kv import GetResponse


def listing(resp: GetResponse, p: str) -> str:
    """Render the keys (relative to the prefix) and values of a response."""
    return " ".join(f"{text(kv.key).removeprefix(p)}={text(kv.value)!r}" for kv in resp.kvs)


def main(argv: list[str] | None = None) -> int:
    """Write a few keys, then read them back in several ways."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "prefix") as p:
        for name, value in [("fruit/apple", "3"), ("fruit/banana", "1"), ("fruit/cherry", "2")]:
            client.put(p + name, value)
        client.put(p + "vegetable/leek", "9")
        resp = client.get(p + "fruit/", prefix=True)
        print("by key:    " + listing(resp, p))
        resp = client.get(
            p + "fruit/", prefix=True, sort_target=SortTarget.VALUE, sort_order=SortOrder.ASCEND
        )
        print("by value:  " + listing(resp, p))
        resp = client.get(p + "fruit/", prefix=True, limit=2)
        print(f"limit 2: {len(resp.kvs)} keys, more={resp.more}, count={resp.count}")
        resp = client.get(p, prefix=True, keys_only=True)
        print("keys only: " + listing(resp, p))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
