"""Nothing of a keep-alive outlives it: 300 grant / keep_alive / revoke cycles on one client
(of either face) leave no thread, task, stream, schedule entry, context callback or deadline
timer behind.

The mechanism only (counts, every backend); RSS over 10,000 cycles is measured by
``python -m bench.leak_figures --only lease-cycles``, not asserted here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Context
from etcd3py.context import _TIMER
from tests.backends import Backend
from tests.e2e.test_lease import stream_workers

pytestmark = pytest.mark.both_faces

CYCLES = 300
WAIT = 10.0  # seconds a renewal, or the threads' ending, may take


def cycle(client: Client, parent: Context, n: int) -> None:
    """One grant / keep_alive / first renewal / revoke / close; the ctx form varies with n."""
    lease = client.grant(30)
    if n % 3 == 0:
        ka = client.keep_alive(lease)
    elif n % 3 == 1:
        own = parent.with_cancel()
        ka = client.keep_alive(lease, ctx=own)
        assert ka.get(WAIT) is not None, ka.err()
        client.revoke(lease)
        ka.close()
        assert own._callbacks == []  # the keep-alive's callback left the user's ctx
        own.cancel()  # the user's own child: theirs to end, as in Go
        return
    else:
        ka = client.keep_alive(lease, timeout=3600, ctx=parent)  # a deadline timer each
    assert ka.get(WAIT) is not None, ka.err()
    client.revoke(lease)
    ka.close()


def settle(baseline: int | None = None) -> int:
    """Wait (bounded) until the thread count reaches ``baseline`` (or, with none, stops
    moving for 0.5 s); return it.
    """
    deadline = time.monotonic() + WAIT
    last, since = threading.active_count(), time.monotonic()
    while time.monotonic() < deadline:
        now = threading.active_count()
        if baseline is not None and now <= baseline:
            return now
        if now != last:
            last, since = now, time.monotonic()
        elif baseline is None and time.monotonic() - since >= 0.5:
            return now
        time.sleep(0.05)  # polling: stopped threads end on their own
    return threading.active_count()


def test_cycles_leave_nothing_behind(backend: Backend, new_client: Callable[..., Any]) -> None:
    parent = Context.background().with_cancel()
    with new_client(endpoints=backend.endpoints) as client:
        driver = client.lease.driver
        for n in range(3):  # warm up: the channel's and the deadline timer's threads
            cycle(client, parent, n)
        baseline = settle()
        timers = _TIMER.pending()
        peak, at_peak = 0, [""]
        for n in range(CYCLES):
            cycle(client, parent, n)
            if threading.active_count() > peak:
                threads = threading.enumerate()
                peak, at_peak = len(threads), [t.name for t in threads]
        # the sync face: a stream's thread, gRPC's request consumer and channel spin thread,
        # and the previous cycle's, which may still be exiting (close() does not join them);
        # a leak would pile up one set per cycle, far past this
        assert peak - baseline <= 6, f"{baseline} threads settled, then {at_peak}"
        assert settle(baseline) <= baseline
        assert driver.streams() == [] and driver.kept_alive() == []
        assert stream_workers(client) == []  # no thread (sync) or task (aio) left
        assert parent._callbacks == []  # every keep-alive's callback and ctx left it
        # and every timeout= deadline was dropped (other work may only have lowered it)
        assert _TIMER.pending() <= timers
    parent.cancel()
