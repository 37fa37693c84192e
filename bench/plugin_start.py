"""What the pytest plugin's per-test etcd costs: start and stop a reference server per test.

The ``etcd`` fixture of :mod:`etcd3py.testing` (reference mode, the default) starts a
reference server, puts a loopback bridge in front of it, and stops both after the test;
``etcd_client`` adds a client and its first call. This times each part, ``--runs`` times,
in one process (as the tests of one pytest process run), and prints the medians::

    python -m bench.plugin_start [--runs 30]

Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd3py.testing._etcd import EtcdHandle, Reference


def _one() -> dict[str, float]:
    t0 = time.perf_counter()
    source = Reference()
    t1 = time.perf_counter()
    handle = EtcdHandle(source)
    t2 = time.perf_counter()
    client = handle.client()
    client.put("/k", "v")
    t3 = time.perf_counter()
    handle.close()
    source.close()
    t4 = time.perf_counter()
    return {
        "server start": t1 - t0,
        "bridge": t2 - t1,
        "client + first put": t3 - t2,
        "teardown": t4 - t3,
        "in all": t4 - t0,
    }


def main() -> None:
    """Time ``--runs`` fixture lifetimes; print the median of each part in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    _one()  # imports and first-use costs, not a test's
    runs = [_one() for _ in range(args.runs)]
    print(f"{args.runs} runs, medians:")
    for part in runs[0]:
        values = [run[part] * 1000 for run in runs]
        print(f"  {part:<20} {statistics.median(values):7.1f} ms (max {max(values):.1f})")


if __name__ == "__main__":
    main()
