"""Revisions: create and mod revision, version, and reading a key as it was (``WithRev``).

python examples/kv_revisions.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

from _common import connect, parser, scratch, text


def main(argv: list[str] | None = None) -> int:
    """Write one key three times and show how its revisions move."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _), scratch(client, "revisions") as p:
        key = p + "config"
        revs = [client.put(key, f"v{n}").header.revision for n in (1, 2, 3)]
        kv = client.get(key).kvs[0]
        print(f"create_revision == first put: {kv.create_revision == revs[0]}")
        print(f"mod_revision == last put: {kv.mod_revision == revs[2]}")
        print(f"version: {kv.version}")
        for n, rev in enumerate(revs, start=1):
            old = client.get(key, rev=rev).kvs[0]
            print(f"at put #{n}: value={text(old.value)} version={old.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
