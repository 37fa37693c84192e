"""An auth token that expires under a long-running watch and a lease keep-alive.

A private server runs with simple tokens of a 2 s TTL (etcd's ``--auth-token-ttl=2``, the
reference server's ``auth_token_ttl=2``). A user watches a prefix and keeps a lease alive
through a :class:`~testserver.bridge.Bridge` and makes no other call, so its token expires;
then every connection is cut. The watch stream comes back with the stale token, its resumed
create is refused (etcd 3.5.1 says "permission denied", later versions "invalid auth token"),
and the client fetches a new token and resumes: every event arrives exactly once, in order,
and the lease stays alive. Waiting out the TTL is the point of the test (bounded sleeps).
It runs on both faces: the asyncio client's watch and keep-alive streams refresh the token the
same way (one shared reconnect policy).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from etcd3py import _pb, _stubs
from tests.backends import (
    BackendUnavailable,
    _etcd34_binary,
    _etcd35_binary,
    running_etcd,
)
from testserver.bridge import Bridge

pytestmark = [pytest.mark.faults, pytest.mark.both_faces]

TOKEN_TTL = 2
ROOT = ("root", "root-pw")
USER = ("app", "app-pw")
PREFIX = "/app/"


def _auth_setup(endpoint: str) -> None:
    """Create root and an ``app`` user with read-write on /app/, then enable auth (raw stubs)."""
    with grpc.insecure_channel(endpoint) as channel:
        auth = _stubs.rpc_grpc.AuthStub(channel)
        rpc = _pb.rpc
        auth.UserAdd(rpc.AuthUserAddRequest(name=ROOT[0], password=ROOT[1]), timeout=10)
        auth.UserGrantRole(rpc.AuthUserGrantRoleRequest(user=ROOT[0], role="root"), timeout=10)
        auth.RoleAdd(rpc.AuthRoleAddRequest(name="app"), timeout=10)
        perm = _pb.auth.Permission(permType=_pb.auth.Permission.READWRITE, key=b"/app/")
        perm.range_end = b"/app0"
        auth.RoleGrantPermission(rpc.AuthRoleGrantPermissionRequest(name="app", perm=perm))
        auth.UserAdd(rpc.AuthUserAddRequest(name=USER[0], password=USER[1]), timeout=10)
        auth.UserGrantRole(rpc.AuthUserGrantRoleRequest(user=USER[0], role="app"), timeout=10)
        auth.AuthEnable(rpc.AuthEnableRequest(), timeout=10)


@contextlib.contextmanager
def _private(name: str) -> Iterator[str]:
    if name == "testserver":
        from testserver import Server

        with Server(auth_token_ttl=TOKEN_TTL) as srv:  # type: ignore[call-arg]
            yield srv.endpoint
        return
    try:
        binary = (_etcd35_binary if name == "etcd35" else _etcd34_binary)()[0]
    except BackendUnavailable as exc:
        pytest.skip(f"backend {name} unavailable: {exc}")
    with running_etcd(binary, name, extra_args=[f"--auth-token-ttl={TOKEN_TTL}"]) as backend:
        yield backend.endpoints[0]


@pytest.fixture(params=["testserver", "etcd35", "etcd34"])
def auth_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    with _private(request.param) as endpoint:
        _auth_setup(endpoint)
        yield endpoint


def test_watch_and_keep_alive_outlive_an_expired_token(
    auth_endpoint: str, new_client: Callable[..., Any]
) -> None:
    with (
        Bridge(auth_endpoint) as bridge,
        new_client([auth_endpoint], username=ROOT[0], password=ROOT[1]) as writer,
        new_client([bridge.endpoint], username=USER[0], password=USER[1]) as app,
    ):
        lease = app.grant(TOKEN_TTL + 4)
        start = writer.put(PREFIX + "start", "x").header.revision + 1
        seen: list[tuple[bytes, int]] = []
        written: list[tuple[bytes, int]] = []
        end = (PREFIX + "end").encode()

        def consume() -> None:
            with app.watch(PREFIX, prefix=True, rev=start) as chan:
                for resp in chan:
                    assert resp.err() is None, resp.err()
                    seen.extend((e.kv.key, e.kv.mod_revision) for e in resp.events)
                    if seen and seen[-1][0] == end:  # the last key written
                        return

        with app.keep_alive(lease.id) as ka:
            consumer = threading.Thread(target=consume, daemon=True)
            consumer.start()
            for round_ in range(2):
                for i in range(5):
                    key = f"{PREFIX}r{round_}/k{i}"
                    written.append((key.encode(), writer.put(key, "v").header.revision))
                time.sleep(TOKEN_TTL + 1.0)  # app makes no call: its token expires
                assert bridge.cut() >= 1  # the watch and keep-alive streams break
                for i in range(5, 10):
                    key = f"{PREFIX}r{round_}/k{i}"
                    written.append((key.encode(), writer.put(key, "v").header.revision))
            written.append((end, writer.put(end, "x").header.revision))  # the consumer stops
            consumer.join(30)
            assert not consumer.is_alive(), f"{len(seen)} of {len(written)} events"
            assert [k for k, _ in seen] == [k for k, _ in written]
            assert [r for _, r in seen] == [r for _, r in written]
            assert not ka.done, ka.err()
            assert ka.get(10) is not None  # still renewing
        assert writer.time_to_live(lease.id).ttl > 0
        assert app.get(PREFIX + "start").count == 1  # unary calls refresh the token too
