"""Watch that resumes, across runs of the program, from a revision saved in a file.

    python examples/watch_resume_from_file.py --endpoint HOST:PORT --state watch.rev

Each run writes its ``--write`` values to ``<prefix>events`` (a producer), then watches the
prefix from the revision after the one saved by the previous run, prints every event it
missed while it was not running, and saves the revision of the last event it printed. Run
it twice against one etcd: the second run prints what changed in between, and nothing twice.
(Against the in-process reference server nothing survives the run, so use ``--endpoint``.)
"""

from __future__ import annotations

import os
from pathlib import Path

from _common import connect, parser, text


def load(state: Path) -> int | None:
    """Return the revision saved by the previous run, if any."""
    return int(state.read_text()) if state.exists() else None


def save(state: Path, rev: int) -> None:
    """Save ``rev`` atomically: a crash leaves the old revision or the new one."""
    tmp = state.with_suffix(state.suffix + ".tmp")
    tmp.write_text(str(rev))
    os.replace(tmp, state)


def main(argv: list[str] | None = None) -> int:
    """Produce a few events, then consume every event since the saved revision."""
    parse = parser(__doc__)
    parse.add_argument("--state", type=Path, default=Path("watch-resume.rev"))
    parse.add_argument("--prefix", default="/etcd3py-examples/watch-resume/")
    parse.add_argument("--write", action="append", default=None, help="values to write")
    args = parse.parse_args(argv)
    p = args.prefix
    with connect(args.endpoint) as (client, _):
        saved = load(args.state)
        now = client.get(p).header.revision
        start = saved + 1 if saved is not None else now + 1
        print(f"resuming after revision {saved}" if saved is not None else "no saved revision")
        last = now
        for value in args.write or ["a", "b"]:
            last = client.put(p + "events", value).header.revision
        with client.watch(p, prefix=True, rev=start) as chan:
            mark = start - 1
            while mark < last:
                wresp = chan.get(timeout=10.0)
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
    raise SystemExit(main())
