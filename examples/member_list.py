"""List the cluster's members (clientv3's ``Cluster.MemberList``).

python examples/member_list.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

from _common import connect, parser


def main(argv: list[str] | None = None) -> int:
    """Print each member's id, name and URLs."""
    args = parser(__doc__).parse_args(argv)
    with connect(args.endpoint) as (client, _):
        resp = client.member_list()
        print(f"members: {len(resp.members)}")
        for member in resp.members:
            print(f"member {member.id:x} name={member.name!r} client_urls={member.client_urls}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
