"""Keep-alives and leader loss on a real 3-member etcd 3.5 cluster.

A client dials one member; the other two stop, so that member loses its leader. etcd's
gRPC interceptor refuses a stream carrying ``hasleader=true`` on a member without a leader,
and its leader monitor cancels such streams a few election timeouts after the loss
(``etcdserver: no leader``): a keep-alive made with ``with_require_leader()`` ends with
``NoLeaderError``, while a plain keep-alive of the same client (another stream) goes on
and is renewed again once the leader is back. The cluster fixture restarts the members.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Context, KeepAlive
from etcd3py.errors import CanceledError, NoLeaderError
from tests.backends import EtcdProcess

pytestmark = [pytest.mark.cluster, pytest.mark.both_faces]

WAIT = 30.0  # the longest any single wait of this module may take, in seconds
TTL = 15  # the plain lease outlives the leaderless spell (about 6 s) with room to spare


def renewed(ka: KeepAlive, count: int = 1) -> None:
    for _ in range(count):
        assert ka.get(WAIT) is not None, f"no renewal ({ka!r})"


def test_require_leader_keep_alive_ends_with_no_leader_while_a_plain_one_goes_on(
    cluster: list[EtcdProcess], new_client: Callable[..., Any]
) -> None:
    lonely, peers = cluster[0], cluster[1:]
    with new_client([lonely.endpoint]) as client:
        guarded_lease, plain_lease = client.grant(TTL), client.grant(TTL)
        leader_ctx = Context.background().with_require_leader()
        guarded = client.keep_alive(guarded_lease, ctx=leader_ctx)
        plain = client.keep_alive(plain_lease)
        renewed(guarded)
        renewed(plain)
        assert len(client.lease.driver.streams()) == 2

        for peer in peers:
            peer.stop()
        assert guarded.wait(WAIT), "the require_leader keep-alive did not end"
        assert isinstance(guarded.err(), NoLeaderError), guarded.err()
        with pytest.raises(NoLeaderError):
            for _ in range(100):  # responses still buffered come first
                next(guarded)
        assert not plain.done and plain.err() is None  # another stream: not ended by it

        # a new require_leader keep-alive is refused at once by the interceptor
        late = client.keep_alive(guarded_lease, ctx=leader_ctx)
        assert late.wait(WAIT)
        assert isinstance(late.err(), NoLeaderError)
        # a call that waits for a leader is aborted by its ctx's cancel
        ctx = Context.background().with_cancel()
        timer = threading.Timer(0.3, ctx.cancel)
        timer.start()
        with pytest.raises(CanceledError):
            client.grant(TTL, ctx=ctx, timeout=WAIT)
        timer.join()
        assert not plain.done and plain.err() is None

        for peer in peers:
            peer.start()
        for peer in peers:
            peer.wait_serving()
        while plain.get(0) is not None:  # drop what came before the leader was lost
            pass
        renewed(plain)  # renewed again once a leader is back
        assert client.time_to_live(plain_lease, timeout=WAIT).ttl > 0
        plain.close()
        assert plain.err() is None
        for lease in (guarded_lease, plain_lease):
            client.revoke(lease, timeout=WAIT)
        assert client.lease.driver.streams() == []
