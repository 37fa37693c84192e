"""Whether a lease is gone, as ``time_to_live`` says, on one member or a cluster.

etcd before 3.5.3 answers ``LeaseTimeToLive`` on the leader without waiting for the leader
to apply what was committed (etcd issue 13675, fixed in 3.5.3): on a 3-member etcd 3.5.1, a
revoke made through a follower, which answers once it applied it, can still show as a live
lease on the leader for a moment. So a test asks until the lease shows as gone (``ttl`` -1),
within a bound.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

GONE_WAIT = 10.0  # seconds a revoke may take to show on every member


def lease_gone(client: Any, lease_id: int, wait: float = GONE_WAIT) -> bool:
    """Whether ``time_to_live`` says ``lease_id`` is gone, asked until it does or ``wait``
    seconds passed (a sync client, or a blocking view of an asyncio one)."""
    deadline = time.monotonic() + wait
    while client.time_to_live(lease_id).ttl != -1:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def alease_gone(lease: Any, lease_id: int, wait: float = GONE_WAIT) -> bool:
    """:func:`lease_gone` for an asyncio client (or its lease API)."""
    deadline = time.monotonic() + wait
    while (await lease.time_to_live(lease_id)).ttl != -1:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
