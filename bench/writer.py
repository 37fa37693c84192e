"""The writer process of workload 6 (live watch): puts stamped keys as fast as it can.

Run by the harness venv's python with raw sync stubs (no client code)::

    python bench/writer.py --endpoint 127.0.0.1:PORT --prefix /bench/live/x/ --count 20000

Each value starts with the ``time.time()`` of the put as an 8-byte big-endian double, padded
to ``--value-size`` bytes, so the watcher can compute each event's lag. Prints
``{"ops_per_s": ...}`` as its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "workers"))

import grpc
from _common import Deadline, lag_value, load_stubs

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Put ``--count`` stamped values under ``--prefix``; print the rate.

    Args:
        argv: the arguments (``sys.argv[1:]`` by default).

    Returns:
        The exit status (0).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--value-size", type=int, default=256)
    parser.add_argument("--deadline-s", type=float, default=120.0)
    args = parser.parse_args(argv)
    rpc, rpc_grpc = load_stubs()
    keys = [f"{args.prefix}{i:06d}".encode() for i in range(args.count)]
    deadline = Deadline(args.deadline_s)
    done = 0
    with grpc.insecure_channel(args.endpoint) as ch:
        stub = rpc_grpc.KVStub(ch)
        grpc.channel_ready_future(ch).result(timeout=10)
        start = time.perf_counter()
        for key in keys:
            stub.Put(rpc.PutRequest(key=key, value=lag_value(args.value_size)))
            done += 1
            if deadline.passed():
                break
        elapsed = time.perf_counter() - start
    print(json.dumps({"ops_per_s": done / elapsed, "written": done}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
