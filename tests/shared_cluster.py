"""Turns on a shared external cluster, for tests that change what every other test sees.

Each backend the suite starts belongs to one pytest-xdist worker, whose tests run one at a
time. The ``external`` backend (``ETCD3PY_TEST_ENDPOINTS``) is one cluster for every worker,
and for any other run pointed at it. Most tests keep to their own key prefix and share it
freely, but some change the whole cluster:

- a compaction removes the history of every key, so another test's watch or read from an older
  revision ends with ``CompactedError``;
- a NOSPACE alarm refuses every write of every client until it is disarmed;
- a member added or removed, or a leader moved, changes what ``member_list`` and
  ``status`` answer to everyone;
- a from-key delete, or a write of a fixed key outside the test's prefix (``b"\x00"``), can
  reach another test's keys.

Tests marked ``@pytest.mark.cluster_wide`` take the cluster alone on ``external``: an exclusive
lock, while every other test there holds a shared one. The locks are ``flock`` locks on files
named after the endpoints in the temporary directory, so they hold across workers and runs.
A waiting exclusive taker holds a *gate* that new shared takers pass through, so it is not
starved by the other workers' stream of tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path


def _lock_path(endpoints: Sequence[str], what: str) -> Path:
    key = hashlib.sha256(",".join(sorted(endpoints)).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"etcd3py-external-{key}.{what}"


@contextlib.contextmanager
def cluster_turn(endpoints: Sequence[str], alone: bool) -> Iterator[None]:
    """Hold the cluster at ``endpoints``: alone (exclusive), or beside other shared holders.

    Blocks until the turn comes; pytest-timeout bounds the wait with the test's timeout.
    """
    with (
        _lock_path(endpoints, "gate").open("a+b") as gate,
        _lock_path(endpoints, "lock").open("a+b") as lock,
    ):
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(gate, fcntl.LOCK_UN)
