"""Leases as another member sees them, on one member or a cluster.

etcd before 3.5.3 answers ``LeaseTimeToLive`` on the leader without waiting for the leader
to apply what was committed (etcd issue 13675, fixed in 3.5.3), and any member answers
``LeaseLeases`` from what it applied: on a 3-member etcd 3.5.1, a grant or a revoke made
through one member, which answers once it applied it, can show on another a moment later.
So a test asks until the answer shows the change, within a bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

GONE_WAIT = 10.0  # seconds a revoke may take to show on every member


def lease_gone(client: Any, lease_id: int, wait: float = GONE_WAIT) -> bool:
    """Whether ``time_to_live`` says ``lease_id`` is gone (``ttl`` -1), asked until it does or
    ``wait`` seconds passed (a sync client, or a blocking view of an asyncio one)."""
    answer = settled(lambda: client.time_to_live(lease_id), lambda r: r.ttl == -1, wait)
    return bool(answer.ttl == -1)


async def alease_gone(lease: Any, lease_id: int, wait: float = GONE_WAIT) -> bool:
    """:func:`lease_gone` for an asyncio client (or its lease API)."""
    answer = await asettled(lambda: lease.time_to_live(lease_id), lambda r: r.ttl == -1, wait)
    return bool(answer.ttl == -1)


def settled(ask: Callable[[], _T], ok: Callable[[_T], bool], wait: float = GONE_WAIT) -> _T:
    """``ask()`` until ``ok`` holds of its answer or ``wait`` seconds passed; the last answer."""
    deadline = time.monotonic() + wait
    answer = ask()
    while not ok(answer) and time.monotonic() < deadline:
        time.sleep(0.05)
        answer = ask()
    return answer


async def asettled(
    ask: Callable[[], Awaitable[_T]], ok: Callable[[_T], bool], wait: float = GONE_WAIT
) -> _T:
    """:func:`settled` for an asyncio call."""
    deadline = time.monotonic() + wait
    answer = await ask()
    while not ok(answer) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        answer = await ask()
    return answer
