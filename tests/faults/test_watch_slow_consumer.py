"""A slow consumer beside a fast one on one stream: bounded memory, nothing lost or stalled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Event, WatchChan
from tests.backends import Backend

pytestmark = [pytest.mark.faults, pytest.mark.both_faces]

LIMIT = 10
N = 300
WAIT = 60.0


def take(chan: WatchChan, count: int) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + WAIT
    while len(events) < count:
        resp = chan.get(max(deadline - time.monotonic(), 0.0))
        assert resp is not None, f"only {len(events)} of {count} events"
        assert resp.err() is None, resp.err()
        events.extend(resp.events)
    return events


def buffered(chan: WatchChan) -> int:
    """Responses waiting in the watch's buffer (the driver's own count)."""
    return chan._sub.buffered


def test_slow_consumer_beside_fast_one(
    backend: Backend, client: Client, prefix: str, new_client: Callable[..., Any]
) -> None:
    rev = client.get(prefix + "\0").header.revision + 1
    with new_client(endpoints=backend.endpoints, watch_buffer_limit=LIMIT) as cli:
        fast = cli.watch(prefix + "fast", rev=rev)
        slow = cli.watch(prefix + "slow", rev=rev)
        fast_events: list[Event] = []
        peak = [0]

        def consume_fast() -> None:
            fast_events.extend(take(fast, N))

        consumer = threading.Thread(target=consume_fast)
        consumer.start()
        for i in range(N):
            client.put(prefix + "fast", str(i))
            client.put(prefix + "slow", str(i))
            peak[0] = max(peak[0], buffered(slow))
        consumer.join(WAIT)
        assert not consumer.is_alive()
        # the fast watch kept up while the slow one was not read at all
        assert [e.kv.value for e in fast_events] == [str(i).encode() for i in range(N)]
        assert cli.watcher.stream_count == 1  # type: ignore[attr-defined]
        assert peak[0] <= LIMIT + 1, peak[0]  # the limit, plus the batch that crossed it
        slow_events = take(slow, N)
        assert [e.kv.value for e in slow_events] == [str(i).encode() for i in range(N)]
        revs = [e.kv.mod_revision for e in slow_events]
        assert revs == sorted(set(revs))
        fast.close()
        slow.close()
