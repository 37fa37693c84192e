"""Watch that resumes, across runs of the program, from a revision saved in a file (asyncio).

    python examples/aio/watch_resume_from_file.py --endpoint HOST:PORT --state watch.rev

The asyncio twin of ``examples/watch_resume_from_file.py`` (same options, same state file,
same output): each run writes its ``--write`` values to ``<prefix>events``, then watches the
prefix from the revision after the one saved by the previous run, prints every event it
missed while it was not running, and saves the revision of the last event it printed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from _shared import aconnect, parser, text
from watch_resume_from_file import load, save  # the sync twin's state file (no etcd I/O)


async def main(argv: list[str] | None = None) -> int:
    """Produce a few events, then consume every event since the saved revision."""
    parse = parser(__doc__)
    parse.add_argument("--state", type=Path, default=Path("watch-resume.rev"))
    parse.add_argument("--prefix", default="/etcd3py-examples/watch-resume/")
    parse.add_argument("--write", action="append", default=None, help="values to write")
    args = parse.parse_args(argv)
    p = args.prefix
    async with aconnect(args.endpoint) as (client, _):
        saved = load(args.state)
        now = (await client.get(p)).header.revision
        start = saved + 1 if saved is not None else now + 1
        print(f"resuming after revision {saved}" if saved is not None else "no saved revision")
        last = now
        for value in args.write or ["a", "b"]:
            last = (await client.put(p + "events", value)).header.revision
        async with client.watch(p, prefix=True, rev=start) as chan:
            mark = start - 1
            while mark < last:
                wresp = await chan.get(timeout=10.0)
                if wresp is None or wresp.err() is not None:
                    print(f"watch ended: {wresp.err() if wresp else 'no event in time'}")
                    return 1
                for ev in wresp.events:
                    mark = ev.kv.mod_revision
                    name = text(ev.kv.key).removeprefix(p)
                    print(f"event {ev.type.name} {name} {text(ev.kv.value)!r}")
                    save(args.state, mark)
                if not wresp.events:
                    mark = max(mark, wresp.header.revision)
    print("saved; run again to resume")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
