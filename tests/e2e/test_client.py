"""The Client end to end: lifecycle, failover, dialing, timeouts, cluster and status."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py import Client
from etcd3py.aio.kv import GrpcKV as AioGrpcKV
from etcd3py.config import parse_endpoints
from etcd3py.errors import ClientClosedError, DeadlineExceededError, UnavailableError
from tests.backends import Backend, free_ports
from tests.faces import AioView

pytestmark = pytest.mark.both_faces

NewClient = Callable[..., Client]


def _transport(client: Any) -> Any:
    """The client's transport; of the asyncio face, a blocking view of its AioTransport."""
    if isinstance(client, AioView):
        return AioView(client.aio_target._transport, client._portal)
    return client._transport


@pytest.fixture
def dead_endpoint() -> str:
    """A loopback port nothing listens on."""
    return f"127.0.0.1:{free_ports(1)[0]}"


def test_context_manager_closes_and_use_after_close_raises(
    backend: Backend, prefix: str, new_client: NewClient
) -> None:
    with new_client(endpoints=backend.endpoints) as client:
        client.put(prefix + "k", "v")
    assert client.closed
    with pytest.raises(ClientClosedError):
        client.get(prefix + "k")
    client.close()  # idempotent
    with new_client(backend.endpoints) as other:
        assert other.get(prefix + "k").kvs[0].value == b"v"


def test_single_endpoint_string_and_http_url(
    backend: Backend, prefix: str, new_client: NewClient
) -> None:
    with new_client("http://" + backend.endpoints[0]) as client:
        assert client.put(prefix + "k", "v").header.revision > 0


@pytest.mark.parametrize("lb_policy", ["round_robin", "pick_first"])
def test_a_dead_endpoint_is_skipped(
    backend: Backend, prefix: str, dead_endpoint: str, lb_policy: str, new_client: NewClient
) -> None:
    endpoints = [dead_endpoint, *backend.endpoints]
    with new_client(endpoints, dial_timeout=5.0, lb_policy=lb_policy) as client:
        for i in range(10):
            client.put(f"{prefix}k{i}", "v")
        assert client.get(prefix, prefix=True).count == 10


@pytest.mark.timeout(30)
def test_dial_to_nothing_raises_within_dial_timeout(
    dead_endpoint: str, new_client: NewClient
) -> None:
    with pytest.raises(UnavailableError, match=r"no endpoint answered within dial_timeout=0.5s"):
        new_client([dead_endpoint], dial_timeout=0.5)


def test_a_call_to_nothing_without_dial_wait_fails_unavailable(
    dead_endpoint: str, new_client: NewClient
) -> None:
    from etcd3py.config import RetryPolicy

    retry = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.01, jitter=0.0)
    with new_client([dead_endpoint], dial_timeout=None, retry=retry) as client:
        with pytest.raises(UnavailableError):
            client.get("/k", timeout=10.0)
        with pytest.raises(UnavailableError):
            client.put("/k", "v", timeout=10.0)


@pytest.mark.testserver_only
def test_timeout_raises_deadline_exceeded(backend: Backend, client: Client, prefix: str) -> None:
    assert backend.server is not None
    client.put(prefix + "k", "v")
    backend.server.set_delay(2.0)
    try:
        with pytest.raises(DeadlineExceededError):
            client.get(prefix + "k", timeout=0.2)
        with pytest.raises(DeadlineExceededError):
            client.put(prefix + "k", "w", timeout=0.2)
    finally:
        backend.server.set_delay(0.0)
    assert client.get(prefix + "k", timeout=10.0).kvs[0].value in (b"v", b"w")


@pytest.mark.testserver_only
def test_context_cancel_and_deadline_end_a_call(backend: Backend, client: Client) -> None:
    import threading

    from etcd3py import Context, _pb
    from etcd3py.errors import CanceledError

    assert backend.server is not None
    t = _transport(client)
    request = _pb.rpc.RangeRequest(key=b"/ctx")
    backend.server.set_delay(5.0)
    try:
        ctx = Context.background().with_cancel()
        timer = threading.Timer(0.2, ctx.cancel)
        timer.start()
        with pytest.raises(CanceledError, match="context canceled"):
            t.call(t.kv.Range, request, ctx=ctx)
        timer.join()
        with pytest.raises(DeadlineExceededError):
            t.call(t.kv.Range, request, ctx=Context.background().with_timeout(0.2))
    finally:
        backend.server.set_delay(0.0)
    with pytest.raises(CanceledError):  # an already-ended context sends nothing
        t.call(t.kv.Range, request, ctx=ctx)


def test_member_list(backend: Backend, client: Client) -> None:
    resp = client.member_list()
    assert resp.header.cluster_id != 0
    assert len(resp.members) >= 1
    member = resp.members[0]
    assert member.id != 0 and not member.is_learner
    urls = [u for m in resp.members for u in m.client_urls]
    if backend.name != "external":
        assert any(backend.endpoints[0] in u for u in urls)


def test_status(backend: Backend, client: Client) -> None:
    status = client.status(backend.endpoints[0])
    assert status.version
    assert status.db_size > 0 or not backend.is_real
    assert status.leader != 0
    assert status.raft_term >= 1 and status.raft_index >= 1
    assert status.header.member_id != 0
    if backend.is_real:
        assert status.version == backend.version


def test_replaced_kv_is_what_put_uses(
    backend: Backend, client: Client, prefix: str, face: str
) -> None:
    from etcd3py.kv import GrpcKV

    calls: list[str] = []

    class CountingKV(GrpcKV):
        def do(self, op, *, timeout=None, ctx=None):  # type: ignore[no-untyped-def]
            calls.append(op.type.value)
            return super().do(op, timeout=timeout, ctx=ctx)

    class AioCountingKV(AioGrpcKV):
        async def do(self, op, *, timeout=None, ctx=None):  # type: ignore[no-untyped-def]
            calls.append(op.type.value)
            return await super().do(op, timeout=timeout, ctx=ctx)

    original = client.kv
    if face == "aio":
        client.kv = AioCountingKV(client.aio_target._transport)  # type: ignore[attr-defined]
    else:
        client.kv = CountingKV(client._transport)
    client.put(prefix + "k", "v")
    assert client.get(prefix + "k").kvs[0].value == b"v"
    assert calls == ["put", "get"]
    client.kv = original


def _retired_channels(client: Client) -> int:
    if isinstance(client, AioView):
        return int(client.aio_target._transport._channels.retired_count)
    return int(client._transport.channel.retired_count)


@pytest.mark.timeout(120)
def test_puts_racing_endpoint_switches_each_land_once(
    backend: Backend, prefix: str, dead_endpoint: str, new_client: NewClient
) -> None:
    # 4 threads put while the endpoint list flips 20 times (what sync_endpoints does on a
    # change: a new channel at once, the old one closed once its calls end): every put
    # answers, every key holds its value, once.
    lists = [list(backend.endpoints), [*backend.endpoints, dead_endpoint]]
    written: list[str] = []
    errors: list[BaseException] = []
    with new_client(backend.endpoints, dial_timeout=5.0) as client:

        def writer(t: int) -> None:
            try:
                for i in range(50):
                    key = f"{prefix}{t}/{i:02d}"
                    client.put(key, key)
                    written.append(key)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for n in range(20):
            assert client._transport.set_endpoints(parse_endpoints(lists[(n + 1) % 2]))
            time.sleep(0.01)
        for thread in threads:
            thread.join(timeout=60)
        assert not errors and not any(thread.is_alive() for thread in threads)
        client._transport.set_endpoints(parse_endpoints(backend.endpoints))
        stored = {kv.key.decode(): kv.value.decode() for kv in client.get(prefix, prefix=True).kvs}
        assert len(written) == 200 and stored == {key: key for key in written}
        deadline = time.monotonic() + 10
        while _retired_channels(client) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _retired_channels(client) == 0


@pytest.fixture
def fresh_client(backend: Backend, new_client: NewClient) -> Iterator[Client]:
    with new_client(backend.endpoints) as client:
        yield client


def test_clients_are_independent(fresh_client: Client, client: Client, prefix: str) -> None:
    fresh_client.put(prefix + "k", "v")
    fresh_client.close()
    assert client.get(prefix + "k").kvs[0].value == b"v"


# ---- authentication (a dedicated etcd: enabling auth on the shared backend would break others)


@pytest.fixture(scope="module")
def auth_etcd() -> Iterator[str]:
    """A fresh etcd 3.5 with auth enabled and user root/rootpw; yields its endpoint."""
    import grpc

    from etcd3py import _pb, _stubs
    from tests.backends import BackendUnavailable, _etcd35_binary, running_etcd

    try:
        binary, _ = _etcd35_binary()
    except BackendUnavailable as exc:
        pytest.skip(f"auth tests need etcd 3.5: {exc}")
    with running_etcd(binary, "etcd35-auth") as server:
        endpoint = server.endpoints[0]
        with grpc.insecure_channel(endpoint) as channel:
            auth = _stubs.rpc_grpc.AuthStub(channel)
            auth.UserAdd(_pb.rpc.AuthUserAddRequest(name="root", password="rootpw"), timeout=10)
            auth.RoleAdd(_pb.rpc.AuthRoleAddRequest(name="root"), timeout=10)
            grant = _pb.rpc.AuthUserGrantRoleRequest(user="root", role="root")
            auth.UserGrantRole(grant, timeout=10)
            auth.AuthEnable(_pb.rpc.AuthEnableRequest(), timeout=10)
        yield endpoint


def test_username_password_authenticates_every_call(auth_etcd: str, new_client: NewClient) -> None:
    with new_client([auth_etcd], username="root", password="rootpw") as client:
        client.put("/auth/k", "v")
        assert client.get("/auth/k").kvs[0].value == b"v"


def test_wrong_password_is_auth_failed(auth_etcd: str, new_client: NewClient) -> None:
    from etcd3py.errors import AuthFailedError

    with pytest.raises(AuthFailedError, match="authentication failed"):
        new_client([auth_etcd], username="root", password="wrong")


def test_no_credentials_on_an_auth_cluster_is_refused(
    auth_etcd: str, new_client: NewClient
) -> None:
    from etcd3py.errors import UserEmptyError

    with new_client([auth_etcd]) as client, pytest.raises(UserEmptyError):
        client.get("/auth/k")


def test_an_invalid_token_is_refreshed_once(auth_etcd: str, new_client: NewClient) -> None:
    with new_client([auth_etcd], username="root", password="rootpw") as client:
        client._transport._token = "not-a-valid-token"
        assert client.put("/auth/k2", "v").header.revision > 0
        assert client._transport._token != "not-a-valid-token"
