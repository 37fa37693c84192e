"""Endpoints on a real 3-member etcd 3.5 cluster: sync, auto-sync, dead members, learners,
and ``require_leader`` watches on a member that lost its leader.

The module shares one cluster; every test leaves all three members running (the ``cluster``
fixture restarts any it stopped) and the member list as it found it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Context, WatchResponse
from etcd3py.errors import (
    DeadlineExceededError,
    EtcdError,
    LearnerNotReadyError,
    NoLeaderError,
    UnavailableError,
)
from tests.backends import EtcdProcess, free_ports
from tests.cluster.conftest import MEMBER_FLAGS, find_leader, member_status
from tests.faces import AioView

pytestmark = [pytest.mark.cluster, pytest.mark.both_faces]

NewClient = Callable[..., Client]

WAIT = 20.0  # the longest any wait of this module may take, in seconds


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``predicate`` until it holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling backoff


def put_surely(client: Client, key: str, value: str) -> int:
    """Put ``value`` once; after an ambiguous failure (the member died with the request),
    read back before trying again, so it is applied exactly once. Return its revision."""
    for _attempt in range(5):
        try:
            return client.put(key, value, timeout=10.0).header.revision
        except (UnavailableError, DeadlineExceededError):
            kvs = client.get(key, timeout=10.0).kvs
            if kvs and kvs[0].value == value.encode():
                return kvs[0].mod_revision
    raise AssertionError(f"could not put {key}={value}")


def retired_channels(client: Any) -> int:
    """How many replaced channels of the client are still open (either face)."""
    if isinstance(client, AioView):
        return int(client.aio_target._transport._channels.retired_count)
    return int(client._transport.channel.retired_count)


class Events:
    """What one watch received: (key, value, revision) and its error."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, int]] = []
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def __call__(self, resp: WatchResponse) -> None:
        with self.lock:
            self.items += [
                (e.kv.key.decode(), e.kv.value.decode(), e.kv.mod_revision) for e in resp.events
            ]
            self.error = self.error or resp.err()

    def revisions(self) -> list[int]:
        with self.lock:
            return [r for _, _, r in self.items]


def test_sync_endpoints_learns_every_member_and_streams_follow(
    cluster: list[EtcdProcess], prefix: str, new_client: NewClient
) -> None:
    with new_client([m.endpoint for m in cluster]) as probe:
        leader = find_leader(probe, cluster, WAIT)
    # a follower: killing it below moves the streams without an election
    first = next(m for m in cluster if m is not leader)
    with new_client([first.endpoint]) as client:
        assert client.endpoints == [first.endpoint]
        events = Events()
        start = client.get(prefix).header.revision + 1
        handle = client.add_watch_callback(prefix, events, prefix=True, rev=start)
        lease = client.grant(10)
        ka = client.keep_alive(lease.id)
        revs = [client.put(prefix + "a", "1").header.revision]

        synced = client.sync_endpoints(timeout=5.0)
        assert sorted(synced) == sorted(m.endpoint for m in cluster)
        assert sorted(client.endpoints) == sorted(synced)
        assert client.sync_endpoints(timeout=5.0) == synced  # unchanged: nothing rebuilt
        revs.append(client.put(prefix + "a", "2").header.revision)  # on the new channel
        wait_until(lambda: events.revisions() == revs, "the event after the sync")

        first.kill()  # the streams opened before the sync ran to it: they move over
        revs.append(put_surely(client, prefix + "a", "3"))
        wait_until(lambda: events.revisions() == revs, "the event after the member died")
        wait_until(lambda: retired_channels(client) == 0, "old channel closed")
        assert client.time_to_live(lease.id, timeout=10.0).ttl > 0
        assert not ka.done and ka.err() is None
        assert events.error is None
        handle.close()
        ka.close()


def test_a_dead_member_is_skipped(
    cluster: list[EtcdProcess], prefix: str, new_client: NewClient
) -> None:
    with new_client([m.endpoint for m in cluster]) as client:
        leader = find_leader(client, cluster, WAIT)
        follower = next(m for m in cluster if m is not leader)
        follower.kill()
        # A put sent on the dead member's connection before gRPC has seen it close fails
        # "Stream removed" and is rightly not retried (it may have been sent). Reads are
        # retried: one per member takes round robin past the dead one, which gRPC then knows.
        for _ in cluster:
            client.get(prefix + "k", timeout=5.0)
        for i in range(30):  # round robin reaches every endpoint many times over
            rev = client.put(f"{prefix}k{i}", str(i), timeout=5.0).header.revision
            assert client.get(f"{prefix}k{i}", timeout=5.0).kvs[0].mod_revision == rev
        assert client.get(prefix, prefix=True, count_only=True).count == 30


def test_learner_update_and_remove_are_listed(
    cluster: list[EtcdProcess], new_client: NewClient
) -> None:
    peer_a, peer_b = (f"http://127.0.0.1:{p}" for p in free_ports(2))
    with new_client([m.endpoint for m in cluster]) as client:
        added = client.member_add([peer_a], is_learner=True, timeout=15.0).member
        try:
            listed = {m.id: m for m in client.member_list().members}
            assert listed[added.id].is_learner and listed[added.id].peer_urls == [peer_a]
            assert listed[added.id].client_urls == []  # not started
            assert sorted(client.sync_endpoints()) == sorted(m.endpoint for m in cluster)

            client.member_update(added.id, [peer_b], timeout=15.0)
            listed = {m.id: m for m in client.member_list().members}
            # etcd 3.5.1's MemberUpdate rebuilds the member's raft attributes from the
            # peer URLs alone, so the learner flag is dropped (v3rpc/member.go): not checked
            assert listed[added.id].peer_urls == [peer_b]
        finally:
            client.member_remove(added.id, timeout=15.0)
        assert added.id not in {m.id for m in client.member_list().members}
        assert len(client.member_list().members) == 3


def start_learner(client: Client, cluster: list[EtcdProcess]) -> tuple[int, EtcdProcess]:
    """Add a fourth member as a learner and start it; return its id and process."""
    client_port, peer_port = free_ports(2)
    peer_url = f"http://127.0.0.1:{peer_port}"
    added = client.member_add([peer_url], is_learner=True, timeout=15.0)
    names = {m.id: m.name for m in added.members}
    names[added.member.id] = "m3"
    initial = ",".join(f"{names[m.id]}={m.peer_urls[0]}" for m in added.members if m.peer_urls)
    learner = EtcdProcess(
        cluster[0].binary,
        name="m3",
        client_port=client_port,
        peer_port=peer_port,
        initial_cluster=initial,
        extra_args=[*MEMBER_FLAGS, "--initial-cluster-state=existing"],
    )
    learner.start()
    learner.wait_serving()
    return added.member.id, learner


def promote(client: Client, member_id: int) -> None:
    """Promote a learner once it has caught up (bounded retries)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            client.member_promote(member_id, timeout=5.0)
            return
        except LearnerNotReadyError:
            assert time.monotonic() < deadline, "the learner never caught up"
            time.sleep(0.2)  # polling backoff: the learner is still receiving the log


def test_auto_sync_follows_a_learner_promoted_then_removed(
    cluster: list[EtcdProcess], caplog: pytest.LogCaptureFixture, new_client: NewClient
) -> None:
    caplog.set_level(logging.INFO, logger="etcd3py")
    three = sorted(m.endpoint for m in cluster)
    with new_client([cluster[0].endpoint], auto_sync_interval=0.3) as client:
        wait_until(lambda: sorted(client.endpoints) == three, "the first auto sync")
        member_id, learner = start_learner(client, cluster)
        try:
            auto_sync = client._auto_sync
            assert auto_sync is not None
            runs = auto_sync.runs
            wait_until(lambda: auto_sync.runs >= runs + 3, "three more syncs")
            assert sorted(client.endpoints) == three  # the learner stays out of the list
            promote(client, member_id)
            four = sorted([*three, learner.endpoint])
            wait_until(lambda: sorted(client.endpoints) == four, "the promoted member")
            assert client.get("/any", timeout=5.0).header.revision > 0
        finally:
            try:
                client.member_remove(member_id, timeout=15.0)
            finally:
                learner.remove()
        wait_until(lambda: sorted(client.endpoints) == three, "the removed member gone")
        assert client.put("/t/auto-sync", "ok", timeout=5.0).header.revision > 0
    assert any("endpoints changed" in m for m in caplog.messages)


def test_require_leader_watch_on_a_member_without_leader(
    cluster: list[EtcdProcess], prefix: str, caplog: pytest.LogCaptureFixture, new_client: NewClient
) -> None:
    caplog.set_level(logging.INFO, logger="etcd3py")
    lonely, peers = cluster[0], cluster[1:]
    key = prefix + "k"
    with new_client([lonely.endpoint]) as client:
        ctx = Context.background().with_require_leader()
        guarded, plain = Events(), Events()
        start = client.get(key).header.revision + 1
        handles = [
            client.add_watch_callback(key, guarded, ctx=ctx, rev=start),
            client.add_watch_callback(key, plain, rev=start),
        ]
        revs = [client.put(key, "before").header.revision]
        wait_until(lambda: guarded.revisions() == revs == plain.revisions(), "first event")

        for peer in peers:
            peer.stop()
        # etcd cancels a require_leader stream after 3 election timeouts without a leader
        # ("etcdserver: no leader"), then refuses each reconnect until a leader is back
        wait_until(
            lambda: any("no leader" in m and "reconnecting" in m for m in caplog.messages),
            "the no-leader cancel of the require_leader stream",
        )
        with pytest.raises(EtcdError):
            client.put(key, "nobody-leads", timeout=1.0)
        for peer in peers:
            peer.start()
        for peer in peers:
            peer.wait_serving()
        for value in ("after-1", "after-2"):
            revs.append(client.put(key, value, timeout=10.0).header.revision)
        wait_until(lambda: guarded.revisions() == revs, "the require_leader watch resumed")
        wait_until(lambda: plain.revisions() == revs, "the plain watch caught up")
        assert guarded.error is None and plain.error is None
        for handle in handles:
            handle.close()


def test_require_leader_unary_calls_fail_fast_with_no_leader(
    cluster: list[EtcdProcess], prefix: str, new_client: NewClient
) -> None:
    lonely, peers = cluster[0], cluster[1:]
    key = prefix + "k"
    ctx = Context.background().with_require_leader()
    with new_client([lonely.endpoint]) as client:
        client.put(key, "v", ctx=ctx)  # the metadata rides along while there is a leader
        for peer in peers:
            peer.stop()
        wait_until(lambda: member_status(client, lonely) == (_member_id(client), 0), "no leader")
        for call in (
            lambda: client.get(key, timeout=10.0, ctx=ctx),
            lambda: client.put(key, "w", timeout=10.0, ctx=ctx),
            lambda: client.member_list(timeout=10.0, ctx=ctx),
        ):
            start = time.monotonic()
            with pytest.raises(NoLeaderError):
                call()
            # refused at once, not retried until the 10 s deadline
            assert time.monotonic() - start < 5.0
        # without require_leader a read waits for a leader: its deadline ends it
        with pytest.raises(DeadlineExceededError):
            client.get(key, timeout=1.0)
    for peer in peers:
        peer.start()


def _member_id(client: Client) -> int:
    return int(client.status(client.endpoints[0], timeout=1.0).header.member_id)
