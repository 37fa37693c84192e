"""Fixtures of the cluster tests: one real 3-member etcd 3.5 cluster per test module.

A module's tests share its cluster (starting one costs seconds); each test leaves every
member running when it ends (the ``cluster`` fixture restarts a stopped one), writes only
under its own ``prefix``, and closes the clients it opened. Helpers here find the leader and
wait for elections with bounded polls.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from etcd3py import Client
from etcd3py.errors import EtcdError
from tests.backends import BackendUnavailable, EtcdProcess, EtcdTools, running_cluster
from tests.conftest import selected_backends

POLL = 0.05  # seconds between two looks at the cluster's state while waiting for it
# No fsync: the members' writes still reach the page cache, so a SIGKILL (a process crash,
# not a machine crash) loses nothing, and the tests are not bound by the disk's sync speed.
MEMBER_FLAGS = ("--unsafe-no-fsync",)


@pytest.fixture(scope="module")
def module_cluster(
    request: pytest.FixtureRequest, etcd_tools: EtcdTools
) -> Iterator[list[EtcdProcess]]:
    """A 3-member etcd 3.5 cluster shared by the tests of one module.

    Skipped when ``--backend`` leaves etcd35 out (the cluster runs the same binary).
    """
    if "etcd35" not in selected_backends(request.config):
        pytest.skip("cluster tests run etcd 3.5: etcd35 is not among --backend")
    try:
        with running_cluster(etcd_tools.etcd, 3, MEMBER_FLAGS) as members:
            yield members
    except BackendUnavailable as exc:
        pytest.skip(f"3-member etcd cluster unavailable: {exc}")


@pytest.fixture
def cluster(module_cluster: list[EtcdProcess]) -> Iterator[list[EtcdProcess]]:
    """The module's cluster, every member serving before and after the test."""
    for member in module_cluster:
        if not member.alive():
            member.start()
    for member in module_cluster:
        member.wait_serving()
    yield module_cluster
    for member in module_cluster:
        if not member.alive():
            member.start()
    for member in module_cluster:
        member.wait_serving()


def member_status(client: Client, member: EtcdProcess) -> tuple[int, int] | None:
    """Return (this member's id, the leader it knows or 0), or None if it does not answer."""
    if not member.alive():
        return None
    try:
        status = client.status(member.endpoint, timeout=1.0)
    except EtcdError:
        return None
    return status.header.member_id, status.leader


def find_leader(client: Client, members: list[EtcdProcess], timeout: float) -> EtcdProcess:
    """Return the member that is the leader, polling until one says it is (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for member in members:
            state = member_status(client, member)
            if state is not None and state[1] and state[0] == state[1]:
                return member
        time.sleep(POLL)  # polling backoff while an election runs
    raise AssertionError(f"no leader within {timeout}s")


def wait_new_leader(
    client: Client, members: list[EtcdProcess], old_id: int, timeout: float
) -> EtcdProcess:
    """Wait until a live member other than ``old_id`` leads; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for member in members:
            state = member_status(client, member)
            if state is not None and state[1] and state[0] == state[1] != old_id:
                return member
        time.sleep(POLL)  # polling backoff while an election runs
    raise AssertionError(f"no new leader within {timeout}s")
