"""What one watch holds: the Python heap per callback watch, by the line that allocated it.

The harness's ``many_watches`` gives RSS per watch, which carries the allocator's and gRPC's
share and moves between runs; this gives the steady part, and where each byte is: it makes
``--watches`` callback watches (``created_notify=True``, on distinct keys, as the harness's
workload 7) on one client against a fresh etcd 3.5.1, waits until the server registered
every one, and compares ``tracemalloc`` snapshots taken before and after (one frame per
allocation, so each line is the code that made the object).

    python -m bench.watch_memory [--watches 5000] [--face sync|aio] [--top 12]

Not a test: nothing here asserts a size. The keys are made before the first snapshot, so
what a user's own key strings cost is left out; the encoded key each watch keeps is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd3py import Client, WatchResponse
from etcd3py.aio import Client as AioClient
from tests.backends import _etcd35_binary, running_etcd

_CREATE_WINDOW = 256  # as the harness's etcd3py workers
_WAIT_S = 120.0


class _Created:
    """Counts the ``created`` responses delivered; says when all ``n`` came."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0
        self.all = threading.Event()

    def __call__(self, response: WatchResponse) -> None:
        if response.created:
            self.seen += 1
            if self.seen == self.n:
                self.all.set()


def _sync_watches(endpoint: str, keys: list[str], measure: Callable[[], None]) -> None:
    created = _Created(len(keys))
    with Client(endpoint, watch_create_window=_CREATE_WINDOW) as client:
        client.put("/bench/watch_memory/warm", b"x")
        measure()  # the first snapshot
        handles = [client.add_watch_callback(k, created, created_notify=True) for k in keys]
        if not created.all.wait(_WAIT_S):
            raise TimeoutError(f"{created.seen} of {len(keys)} watches created")
        measure()  # the second, with every watch held
        for handle in handles:
            handle.close()


def _aio_watches(endpoint: str, keys: list[str], measure: Callable[[], None]) -> None:
    async def main() -> None:
        created = _Created(len(keys))
        async with AioClient(endpoint, watch_create_window=_CREATE_WINDOW) as client:
            await client.put("/bench/watch_memory/warm", b"x")
            measure()
            handles = [
                await client.add_watch_callback(k, created, created_notify=True, wait=False)
                for k in keys
            ]
            for _ in range(int(_WAIT_S * 100)):
                if created.all.is_set():
                    break
                await asyncio.sleep(0.01)
            else:
                raise TimeoutError(f"{created.seen} of {len(keys)} watches created")
            measure()
            for handle in handles:
                await handle.close()

    asyncio.run(main())


def measure(endpoint: str, face: str, watches: int) -> list[tracemalloc.StatisticDiff]:
    """The heap's growth by allocating line while ``watches`` callback watches are held."""
    keys = [f"/bench/watch_memory/{i:08d}" for i in range(watches)]
    snapshots: list[tracemalloc.Snapshot] = []

    def snapshot() -> None:
        gc.collect()
        if not tracemalloc.is_tracing():
            tracemalloc.start(1)
        snapshots.append(tracemalloc.take_snapshot())

    (_sync_watches if face == "sync" else _aio_watches)(endpoint, keys, snapshot)
    tracemalloc.stop()
    return snapshots[1].compare_to(snapshots[0], "lineno")


def report(diffs: list[tracemalloc.StatisticDiff], watches: int, top: int) -> str:
    """A markdown table: bytes and objects per watch for the ``top`` lines, and the total."""
    lines = ["| bytes per watch | objects per watch | allocated at |", "|---|---|---|"]
    for diff in diffs[:top]:
        frame = diff.traceback[0]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        lines.append(
            f"| {diff.size_diff / watches:.0f} | {diff.count_diff / watches:.2f} | {where} |"
        )
    total = sum(diff.size_diff for diff in diffs) / watches
    lines.append(f"| **{total:.0f}** | | every line |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure one face against a fresh etcd 3.5.1 and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=5000)
    parser.add_argument("--face", choices=("sync", "aio"), default="sync")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    with running_etcd(_etcd35_binary()[0], "etcd35", ["--unsafe-no-fsync"]) as backend:
        diffs = measure(backend.endpoints[0], args.face, args.watches)
    print(f"{args.face} face, {args.watches} callback watches:\n")
    print(report(diffs, args.watches, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
