"""``ctx=`` on every KV, Txn and Auth call, end to end on every backend.

A call is kept in flight by a :class:`~tests.e2e.hold_proxy.HoldProxy` between the client and
the backend: inside ``proxy.hold()`` the request leaves the client but never reaches the
server, and ``proxy.held`` says when it left. So each test is exact and needs no sleep: a ctx
cancelled from another thread once the request is out raises ``CanceledError``; a ctx past its
deadline raises ``DeadlineExceededError``; a ctx already cancelled sends nothing at all; and
the held request is dropped with its connection, so no call here changes the backend. The
metadata of a ctx (``require_leader``) is checked with real calls on the healthy backend.
On the reference server, the KV calls are also cancelled while the server works on them
(``Server.set_delay``; the proxy's ``passed`` says the request went through).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py import Client, Compare, Context, Op, PermissionType
from etcd3py.errors import CanceledError, DeadlineExceededError
from tests.backends import Backend
from tests.e2e.hold_proxy import HoldProxy
from tests.unit.test_auth_args import AUTH_CALLS

pytestmark = pytest.mark.both_faces

WAIT = 10.0  # seconds a request may take to leave the client (never reached when all is well)

Call = Callable[[Client, str, Context | None], object]


def _txn(c: Client, p: str, ctx: Context | None) -> object:
    put = Op.put(p + "k", "v")
    return c.txn().if_(Compare.version(p + "k") == 0).then(put).commit(ctx=ctx)


def _namespace_get(c: Client, p: str, ctx: Context | None) -> object:
    with c.with_namespace(p) as ns:
        return ns.get("k", ctx=ctx)


def _namespace_txn(c: Client, p: str, ctx: Context | None) -> object:
    with c.with_namespace(p) as ns:
        return ns.txn().then(Op.get("k"), Op.put("k", "v")).commit(ctx=ctx)


KV_CALLS: list[tuple[str, Call]] = [
    ("get", lambda c, p, ctx: c.get(p + "k", ctx=ctx)),
    ("get-prefix", lambda c, p, ctx: c.get(p, prefix=True, limit=10, ctx=ctx)),
    ("put", lambda c, p, ctx: c.put(p + "k", "v", ctx=ctx)),
    ("delete", lambda c, p, ctx: c.delete(p + "k", ctx=ctx)),
    ("compact", lambda c, p, ctx: c.compact(1, ctx=ctx)),
    ("txn", _txn),
    ("do", lambda c, p, ctx: c.do(Op.get(p + "k"), ctx=ctx)),
    ("kv-get", lambda c, p, ctx: c.kv.get(p + "k", ctx=ctx)),
    ("namespace-get", _namespace_get),
    ("namespace-txn", _namespace_txn),
]
ALL_CALLS: list[tuple[str, Call]] = KV_CALLS + [
    (f"auth-{name}", lambda c, p, ctx, call=call: call(c, ctx)) for name, call in AUTH_CALLS
]
# The deadline is applied by the same code for every call: each KV call and a few Auth ones.
DEADLINE_CALLS = KV_CALLS + [
    (name, call)
    for name, call in ALL_CALLS
    if name in ("auth-auth_status", "auth-user_add", "auth-role_grant_permission")
]


def _ids(calls: list[tuple[str, Call]]) -> list[str]:
    return [name for name, _ in calls]


@pytest.fixture
def held(
    backend: Backend, prefix: str, new_client: Callable[..., Client]
) -> Iterator[tuple[Client, HoldProxy]]:
    """A client whose connection goes through a hold proxy, connected (one get done)."""
    with HoldProxy(backend.endpoints[0]) as proxy, new_client([proxy.endpoint]) as client:
        client.get(prefix + "warm-up")
        yield client, proxy


@pytest.mark.parametrize(("name", "call"), ALL_CALLS, ids=_ids(ALL_CALLS))
def test_a_ctx_cancelled_while_the_call_is_in_flight_raises_canceled(
    held: tuple[Client, HoldProxy], prefix: str, name: str, call: Call
) -> None:
    client, proxy = held
    ctx = Context.background().with_cancel()
    sent: list[bool] = []

    def cancel_once_sent() -> None:
        sent.append(proxy.held.wait(WAIT))
        ctx.cancel()

    canceller = threading.Thread(target=cancel_once_sent, name="test-canceller")
    with proxy.hold():
        canceller.start()
        try:
            with pytest.raises(CanceledError):
                call(client, prefix, ctx)
        finally:
            canceller.join(WAIT)
    assert sent == [True], "the request had left the client when the ctx was cancelled"
    assert client.get(prefix + "k").count == 0, "the client goes on after a cancelled call"


@pytest.mark.testserver_only
@pytest.mark.parametrize(("name", "call"), KV_CALLS, ids=_ids(KV_CALLS))
def test_a_ctx_cancelled_while_the_server_works_on_the_call_raises_canceled(
    backend: Backend, held: tuple[Client, HoldProxy], prefix: str, name: str, call: Call
) -> None:
    """The same, with the request at the server: the reference server delays every call."""
    assert backend.server is not None
    client, proxy = held
    ctx = Context.background().with_cancel()
    reached: list[bool] = []

    def cancel_once_at_the_server() -> None:
        reached.append(proxy.passed.wait(WAIT))
        ctx.cancel()

    canceller = threading.Thread(target=cancel_once_at_the_server, name="test-canceller")
    proxy.passed.clear()
    backend.server.set_delay(60.0)
    try:
        canceller.start()
        with pytest.raises(CanceledError):
            call(client, prefix, ctx)
    finally:
        backend.server.set_delay(0)
        canceller.join(WAIT)
    assert reached == [True], "the request had reached the server when the ctx was cancelled"


@pytest.mark.parametrize(("name", "call"), ALL_CALLS, ids=_ids(ALL_CALLS))
def test_a_ctx_cancelled_before_the_call_sends_nothing(
    held: tuple[Client, HoldProxy], prefix: str, name: str, call: Call
) -> None:
    client, proxy = held
    ctx = Context.background().with_cancel()
    ctx.cancel()
    with proxy.hold():
        with pytest.raises(CanceledError):
            call(client, prefix, ctx)
        assert not proxy.held.is_set(), "no request left the client"


@pytest.mark.parametrize(("name", "call"), DEADLINE_CALLS, ids=_ids(DEADLINE_CALLS))
def test_a_ctx_deadline_bounds_the_call(
    held: tuple[Client, HoldProxy], prefix: str, name: str, call: Call
) -> None:
    client, proxy = held
    ctx = Context.background().with_timeout(0.3)
    with proxy.hold(), pytest.raises(DeadlineExceededError):
        call(client, prefix, ctx)
    assert proxy.held.is_set(), "the request was sent, then its deadline passed"


def test_the_nearer_of_ctx_and_timeout_bounds_the_call(
    held: tuple[Client, HoldProxy], prefix: str
) -> None:
    client, proxy = held
    with proxy.hold(), pytest.raises(DeadlineExceededError):
        client.put(prefix + "k", "v", timeout=60.0, ctx=Context.background().with_timeout(0.2))
    client.get(prefix + "k")  # connected again: the hold dropped the connection
    far = Context.background().with_timeout(60.0)
    with proxy.hold(), pytest.raises(DeadlineExceededError):
        client.txn().then(Op.put(prefix + "k", "v")).commit(timeout=0.2, ctx=far)
    assert not far.done
    far.cancel()


def _user_round_trip(client: Client, ctx: Context, backend: Backend) -> list[object]:
    user, role = f"u-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    # AuthStatus is new in etcd 3.5
    status = None if backend.name == "etcd34" else client.auth_status(ctx=ctx)
    return [
        status is None or not status.enabled,
        client.user_add(user, "pw", ctx=ctx),
        user in client.user_list(ctx=ctx).users,
        client.role_add(role, ctx=ctx),
        client.role_grant_permission(role, "/p/", PermissionType.READ, prefix=True, ctx=ctx),
        client.user_grant_role(user, role, ctx=ctx),
        client.user_get(user, ctx=ctx).roles,
        client.user_delete(user, ctx=ctx),
        client.role_delete(role, ctx=ctx),
    ]


def test_require_leader_metadata_goes_on_calls_to_a_healthy_member(
    backend: Backend, client: Client, prefix: str
) -> None:
    ctx = Context.background().with_require_leader()
    assert ctx.metadata == (("hasleader", "true"),)
    rev = client.put(prefix + "k", "v", ctx=ctx).header.revision
    assert client.get(prefix + "k", ctx=ctx).kvs[0].mod_revision == rev
    assert client.do(Op.get(prefix, prefix=True), ctx=ctx).count == 1  # type: ignore[union-attr]
    txn = client.txn().if_(Compare.mod_revision(prefix + "k") == rev)
    assert txn.then(Op.delete(prefix + "k")).commit(ctx=ctx).succeeded
    with client.with_namespace(prefix) as ns:
        ns.put("n", "1", ctx=ctx)
        assert ns.get("n", ctx=ctx).kvs[0].key == b"n"
        assert ns.delete("n", ctx=ctx).deleted == 1
    result: list[Any] = _user_round_trip(client, ctx, backend)
    assert result[0] is True and result[2] is True and len(result[6]) == 1
