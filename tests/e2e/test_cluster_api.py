"""End-to-end tests of the Cluster API: list, add, remove, update, promote members.

Every backend, one member or a cluster (``external`` may be either): the member list names
the member behind each of the client's endpoints (as its own Status says), in both forms and
with ``ctx=``; comparisons of two answers ask one endpoint, so the headers agree exactly. On
real etcd, a learner is added at a peer URL no process serves and removed again, and a voter
refuses promotion; these change (or try to change) the membership, so they run alone on a
shared cluster (``cluster_wide``). The reference server answers membership changes with
``UNIMPLEMENTED``. The 3-member parts (promote) run on the ``etcd_cluster`` fixture.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable, Mapping

import pytest

from etcd3py import Client, Context
from etcd3py.cluster import Member, MemberAddResponse
from etcd3py.errors import (
    CanceledError,
    DeadlineExceededError,
    LearnerNotReadyError,
    MemberNotLearnerError,
    UnhealthyError,
    UnimplementedError,
)
from tests.backends import Backend, EtcdProcess, EtcdTools, free_ports

pytestmark = pytest.mark.both_faces

TIMEOUT = 10.0
#: seconds a new learner may take to catch up with the leader before it can be promoted.
CATCH_UP = 30.0


class JoiningEtcd(EtcdProcess):
    """An etcd member that joins an existing cluster (``--initial-cluster-state=existing``)."""

    def args(self) -> list[str]:
        """Return the command line, joining rather than bootstrapping."""
        return [
            "--initial-cluster-state=existing" if a == "--initial-cluster-state=new" else a
            for a in super().args()
        ]


_PEER_PORTS = itertools.count(20000 + os.getpid() % 20000)


def unserved_peer_url() -> str:
    """A peer URL no process will ever serve: TEST-NET-1 (RFC 5737), a port of its own.

    Not a free loopback port: with many servers starting in parallel, another test's etcd
    may bind it later, and the shared etcd then reaches "its" new member, which changes how
    it judges a membership change (etcd's quorum checks count connected members).
    """
    return f"http://192.0.2.1:{next(_PEER_PORTS)}"


def endpoint_members(client: Client, endpoints: Iterable[str]) -> dict[str, int]:
    """Return the id of the member behind each endpoint, as that member's Status says."""
    return {e: client.status(e, timeout=TIMEOUT).header.member_id for e in endpoints}


def check_lists_endpoint_members(members: Iterable[Member], behind: Mapping[str, int]) -> None:
    """Assert a member list names the member behind each endpoint (``behind``: endpoint to
    member id), as a started voter with that endpoint among its client URLs.

    Not that the list has one member per endpoint: a client may know only some members
    of a cluster (or reach one member by two addresses).
    """
    listed = {m.id: m for m in members}
    for endpoint, member_id in behind.items():
        assert member_id != 0
        assert member_id in listed, f"{endpoint}'s member {member_id:#x} is not in {listed}"
        member = listed[member_id]
        assert member.is_learner is False
        assert member.name and member.peer_urls
        assert any(url.endswith(endpoint) for url in member.client_urls), (endpoint, member)


def test_member_list_names_each_endpoints_member(
    client: Client, backend: Backend, new_client: Callable[..., Client]
) -> None:
    resp = client.member_list(timeout=TIMEOUT)
    check_lists_endpoint_members(resp.members, endpoint_members(client, backend.endpoints))
    assert resp.header.member_id in {m.id for m in resp.members}
    first = backend.endpoints[0]
    pinned = new_client(endpoints=[first]).member_list(timeout=TIMEOUT)
    assert pinned.header.member_id == client.status(first, timeout=TIMEOUT).header.member_id
    assert pinned.members == resp.members  # any member answers the same list


@pytest.mark.parametrize("linearizable", [True, False])
def test_member_list_both_forms(
    backend: Backend, new_client: Callable[..., Client], linearizable: bool
) -> None:
    client = new_client(endpoints=backend.endpoints[:1])  # both answers from one member
    default = client.member_list(timeout=TIMEOUT)
    resp = client.member_list(linearizable=linearizable, timeout=TIMEOUT)
    assert resp.members == default.members
    assert resp.header.member_id == default.header.member_id != 0


def test_member_list_with_a_context(client: Client, backend: Backend) -> None:
    ctx = Context.background().with_timeout(TIMEOUT)
    listed = client.member_list(ctx=ctx).members
    check_lists_endpoint_members(listed, endpoint_members(client, backend.endpoints))
    cancelled = Context.background().with_cancel()
    cancelled.cancel()
    with pytest.raises(CanceledError):
        client.member_list(ctx=cancelled)
    with pytest.raises(CanceledError):
        client.member_remove(1, ctx=cancelled)
    expired = Context.background().with_timeout(1e-9)
    with pytest.raises(DeadlineExceededError):
        client.member_promote(1, ctx=expired)


@pytest.mark.real_etcd_only
@pytest.mark.cluster_wide  # adds and removes a member: alone on a shared cluster
def test_learner_added_then_removed(client: Client) -> None:
    before = {m.id for m in client.member_list(timeout=TIMEOUT).members}
    added = client.member_add_as_learner([unserved_peer_url()], timeout=TIMEOUT)
    try:
        assert added.member.is_learner is True
        assert added.member.name == ""  # not started
        assert added.member.id not in before
        listed = {m.id: m for m in client.member_list(timeout=TIMEOUT).members}
        assert listed.keys() == before | {added.member.id}
        assert listed[added.member.id].is_learner is True
    finally:
        left = client.member_remove(added.member.id, timeout=TIMEOUT)
    assert {m.id for m in left.members} == before
    assert {m.id for m in client.member_list(timeout=TIMEOUT).members} == before


# etcd refuses the promotion only when it applies it: it goes through raft as a membership
# change, and raft drops one proposed while another is pending (its caller then times out).
@pytest.mark.real_etcd_only
@pytest.mark.cluster_wide  # a membership change (refused): alone on a shared cluster
def test_member_promote_voter_is_refused(client: Client) -> None:
    voters = [m for m in client.member_list(timeout=TIMEOUT).members if not m.is_learner]
    assert voters
    for voter in voters:
        with pytest.raises(MemberNotLearnerError):
            client.member_promote(voter.id, timeout=TIMEOUT)


@pytest.mark.testserver_only
def test_reference_server_refuses_membership_changes(client: Client) -> None:
    (member,) = client.member_list(timeout=TIMEOUT).members
    calls = [
        lambda: client.member_add([unserved_peer_url()], is_learner=True, timeout=TIMEOUT),
        lambda: client.member_add_as_learner([unserved_peer_url()], timeout=TIMEOUT),
        lambda: client.member_remove(member.id, timeout=TIMEOUT),
        lambda: client.member_update(member.id, [unserved_peer_url()], timeout=TIMEOUT),
        lambda: client.member_promote(member.id, timeout=TIMEOUT),
    ]
    for call in calls:
        with pytest.raises(UnimplementedError, match=r"testserver: Cluster\.Member"):
            call()
    assert [m.id for m in client.member_list(timeout=TIMEOUT).members] == [member.id]


@pytest.mark.cluster
def test_three_members_listed(
    etcd_cluster: list[EtcdProcess], new_client: Callable[..., Client]
) -> None:
    with new_client(endpoints=[m.endpoint for m in etcd_cluster]) as client:
        resp = client.member_list(timeout=TIMEOUT)
        assert sorted(m.name for m in resp.members) == sorted(m.name for m in etcd_cluster)
        assert sorted(u for m in resp.members for u in m.peer_urls) == sorted(
            m.peer_url for m in etcd_cluster
        )


def add_learner_when_healthy(client: Client, peer_url: str) -> MemberAddResponse:
    """Add a learner, retrying while etcd's strict reconfiguration check refuses it.

    etcd refuses membership changes (``UnhealthyError``) until its leader has been connected
    to every voter for 5 seconds, which a freshly started cluster has not.
    """
    deadline = time.monotonic() + CATCH_UP
    while True:
        try:
            return client.member_add([peer_url], is_learner=True, timeout=TIMEOUT)
        except UnhealthyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # polling etcd's own health check, bounded by the deadline


def promote_when_ready(client: Client, member_id: int) -> list[bool]:
    """Promote ``member_id``, retrying while etcd says the learner has not caught up."""
    deadline = time.monotonic() + CATCH_UP
    while True:
        try:
            resp = client.member_promote(member_id, timeout=TIMEOUT)
        except LearnerNotReadyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # polling etcd's own readiness check, bounded by the deadline
            continue
        return [m.is_learner for m in resp.members if m.id == member_id]


@pytest.mark.cluster
def test_learner_joins_and_is_promoted(
    etcd_cluster: list[EtcdProcess], etcd_tools: EtcdTools, new_client: Callable[..., Client]
) -> None:
    client_port, peer_port = free_ports(2)
    peer_url = f"http://127.0.0.1:{peer_port}"
    with new_client(endpoints=[m.endpoint for m in etcd_cluster]) as client:
        added = add_learner_when_healthy(client, peer_url)
        assert added.member.is_learner is True
        initial = etcd_cluster[0].initial_cluster + f",m3={peer_url}"
        learner = JoiningEtcd(
            etcd_tools.etcd,
            name="m3",
            client_port=client_port,
            peer_port=peer_port,
            initial_cluster=initial,
        )
        try:
            learner.start()
            learner.wait_serving()
            assert promote_when_ready(client, added.member.id) == [False]
            # a member just promoted may still lag: etcd checks it is in sync (and says
            # "not ready") before it checks it is a learner
            with pytest.raises(MemberNotLearnerError):
                promote_when_ready(client, added.member.id)
            members = client.member_list(timeout=TIMEOUT).members
            assert len(members) == 4
            assert not any(m.is_learner for m in members)
            assert "m3" in {m.name for m in members}
        finally:
            learner.remove()
