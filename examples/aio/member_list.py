"""List the cluster's members (clientv3's ``Cluster.MemberList``), with asyncio.

python examples/aio/member_list.py [--endpoint HOST:PORT]
"""

from __future__ import annotations

import asyncio

from _shared import aconnect, parser


async def main(argv: list[str] | None = None) -> int:
    """Print each member's id, name and URLs."""
    args = parser(__doc__).parse_args(argv)
    async with aconnect(args.endpoint) as (client, _):
        resp = await client.member_list()
        print(f"members: {len(resp.members)}")
        for member in resp.members:
            print(f"member {member.id:x} name={member.name!r} client_urls={member.client_urls}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
