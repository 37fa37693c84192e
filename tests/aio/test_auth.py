"""The asyncio Auth (:class:`etcd3py.aio.auth.Auth`) and token refresh, on every backend.

Users, roles and permissions go round trip on PRIVATE backends with a 2 s token TTL (the
``auth_backend``/``admin`` fixtures of the sync suite, which enable auth and reset it after),
each read answering as the sync client's; an expired token is fetched again once for the
awaited calls; a snapshot refused for its token before any data refreshes it once (the
shared flow's rule). On the shared backends: bad input raises the sync face's error before
sending, and every call takes a ctx (ended before, or cancelled in flight from a thread).
"""

from __future__ import annotations

import asyncio
import inspect
import io
import time
from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Context, PermissionType
from etcd3py import errors as E
from etcd3py._aio_transport import AioTransport
from etcd3py.aio.auth import Auth
from etcd3py.aio.kv import GrpcKV
from etcd3py.aio.maintenance import Maintenance
from tests.aio.unary_support import (
    WAIT,
    aio_transport_on,
    cancel_ctx_in_flight,
    forbid_sending,
    held_transport,
    proxy,
    same_error,
    same_view,
)
from tests.backends import Backend
from tests.e2e.hold_proxy import HoldProxy
from tests.e2e.test_auth import ROOT_PW, TTL, _reset, admin, auth_backend
from tests.unit.test_auth_args import AUTH_CALLS, BAD_CALLS

__all__ = ["admin", "auth_backend", "held_transport", "proxy"]  # fixtures


def count_logins(t: Any) -> Callable[[], int]:
    """Count the token fetches of a transport (either face); return the counter."""
    login = t._authenticate
    fetches = 0

    def counted() -> None:
        nonlocal fetches
        fetches += 1

    if inspect.iscoroutinefunction(login):

        async def counting_aio() -> None:
            counted()
            await login()

        t._authenticate = counting_aio
    else:

        def counting() -> None:
            counted()
            login()

        t._authenticate = counting
    return lambda: fetches


def stale_token_after_status(t: Any) -> None:
    """After the snapshot's status, give the transport a token the server does not know.

    So the ``Snapshot`` stream starts with it and is refused before any data.
    """
    status_at = t.run_at

    def swap(answer: Any) -> Any:
        t._token = "stale.1"
        return answer

    if inspect.iscoroutinefunction(status_at):

        async def at_aio(*args: Any, **kwargs: Any) -> Any:
            return swap(await status_at(*args, **kwargs))

        t.run_at = at_aio
    else:
        t.run_at = lambda *args, **kwargs: swap(status_at(*args, **kwargs))


async def test_users_roles_and_permissions(admin: Client, auth_backend: Backend) -> None:
    async with aio_transport_on(auth_backend.endpoints[0], username="root", password=ROOT_PW) as t:
        a = Auth(t)
        if not auth_backend.version.startswith("3.4."):  # AuthStatus came with 3.5
            status = await a.auth_status(timeout=WAIT)
            assert status.enabled
            same_view(status, admin.auth_status(timeout=WAIT))
        await a.user_add("alice", "alice-pw")
        await a.user_add("nopw", no_password=True)
        await a.role_add("readers")
        await a.user_grant_role("alice", "readers")
        await a.role_grant_permission("readers", "/r/", PermissionType.READ, prefix=True)
        await a.role_grant_permission("readers", b"/m", PermissionType.READWRITE, range_end="/n")
        await a.role_grant_permission("readers", "/z", PermissionType.WRITE, from_key=True)
        same_view(await a.user_list(), admin.user_list())
        same_view(await a.role_list(), admin.role_list())
        same_view(await a.user_get("alice"), admin.user_get("alice"))
        got = await a.role_get("readers")
        same_view(got, admin.role_get("readers"))
        assert [(p.perm_type, p.key, p.range_end) for p in got.perms] == [
            (PermissionType.READWRITE, b"/m", b"/n"),
            (PermissionType.READ, b"/r/", b"/r0"),
            (PermissionType.WRITE, b"/z", b"\0"),
        ]
        await a.role_revoke_permission("readers", "/r/", prefix=True)
        await a.role_revoke_permission("readers", "/z", from_key=True)
        assert [p.key for p in (await a.role_get("readers")).perms] == [b"/m"]
        await a.user_revoke_role("alice", "readers")
        assert (await a.user_get("alice")).roles == []
        await a.user_change_password("alice", "new-pw")
        with pytest.raises(E.AuthFailedError):
            await a.authenticate("alice", "alice-pw")
        assert (await a.authenticate("alice", "new-pw")).token
        await a.role_delete("readers")
        await a.user_delete("nopw")
        assert (await a.user_list()).users == ["alice", "root"]
        with pytest.raises(E.UserNotFoundError):
            await a.user_get("nopw")


async def test_enable_then_disable(auth_backend: Backend) -> None:
    try:
        async with aio_transport_on(auth_backend.endpoints[0]) as plain:
            await Auth(plain).auth_enable(timeout=WAIT)
            with pytest.raises(E.UserEmptyError):
                await Auth(plain).user_list()  # no token while auth is on
        async with aio_transport_on(
            auth_backend.endpoints[0], username="root", password=ROOT_PW
        ) as root:
            await Auth(root).auth_disable(timeout=WAIT)
            assert "root" in (await Auth(root).user_list()).users  # on without a token
    finally:
        _reset(auth_backend.endpoints)


async def test_an_expired_token_is_fetched_again_once(admin: Client, auth_backend: Backend) -> None:
    async with aio_transport_on(auth_backend.endpoints[0], username="root", password=ROOT_PW) as t:
        fetches = count_logins(t)
        first = t._token
        # the passage of time is the point: a simple token dies TTL (+1 s tick) after its use
        await asyncio.sleep(TTL + 2.0)
        results = await asyncio.gather(
            Auth(t).user_list(), Auth(t).role_list(), GrpcKV(t).put("/refreshed", "v")
        )
        assert results[0].users == ["root"]
        assert fetches() == 1 and t._token and t._token != first
        assert admin.get("/refreshed").kvs[0].value == b"v"


async def test_a_snapshot_refused_for_its_token_refreshes_it_once(
    admin: Client, auth_backend: Backend
) -> None:
    async with aio_transport_on(auth_backend.endpoints[0], username="root", password=ROOT_PW) as t:
        fetches = count_logins(t)
        stale_token_after_status(t)
        out = io.BytesIO()
        resp = await Maintenance(t).snapshot(out, timeout=30.0)
        assert resp.size == len(out.getvalue()) > 0
        assert fetches() == 1 and t._token not in (None, "stale.1")


async def test_bad_input_raises_the_sync_error_before_sending(
    aio_transport: AioTransport, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_sending(aio_transport, monkeypatch)
    a = Auth(aio_transport)
    for bad, error in BAD_CALLS:
        raised = await same_error(lambda b=bad: b(a), lambda b=bad: b(client.auth))  # type: ignore[misc]
        assert isinstance(raised, error)


@pytest.mark.parametrize(("name", "call"), AUTH_CALLS, ids=[c[0] for c in AUTH_CALLS])
async def test_every_call_takes_a_ctx(
    held_transport: AioTransport,
    proxy: HoldProxy,
    name: str,
    call: Callable[[Any, Context | None], Any],
) -> None:
    a = Auth(held_transport)
    cancelled = Context.background().with_cancel()
    cancelled.cancel()
    with pytest.raises(E.CanceledError):
        await call(a, cancelled)
    expired = Context.background().with_deadline(time.monotonic() - 1)
    with pytest.raises(E.DeadlineExceededError):
        await call(a, expired)
    await cancel_ctx_in_flight(held_transport, proxy, lambda ctx: call(a, ctx))


def test_the_sync_snapshot_drives_the_same_refresh(admin: Client, auth_backend: Backend) -> None:
    with Client(auth_backend.endpoints, username="root", password=ROOT_PW) as root:
        t = root._transport
        fetches = count_logins(t)
        stale_token_after_status(t)
        out = io.BytesIO()
        assert root.snapshot(out, timeout=30.0).size == len(out.getvalue()) > 0
        assert fetches() == 1 and t._token not in (None, "stale.1")
