"""The asyncio Client's lifecycle (:class:`etcd3py.aio.Client`): what the blocking adapter
of the both-faces suites cannot show.

``async with Client(...)`` and ``client = await Client(...)`` connect and close; a client
never entered connects at its first call or stream (with credentials too, on a private
auth-enabled backend); ``await close()`` is idempotent and leaves no task; the
``auto_sync_interval`` task runs however the client connected and ends with ``close()``;
closing a namespaced client ends only what was opened through it; ``repr``; a closed client
refuses every use with ``ClientClosedError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from etcd3py import errors as E
from etcd3py.aio import Client
from etcd3py.config import parse_endpoints
from tests.aio.tasks_left import tasks_left
from tests.backends import Backend, free_ports
from tests.e2e.test_auth import ROOT_PW, admin, auth_backend

__all__ = ["admin", "auth_backend"]  # fixtures

WAIT = 10.0  # seconds any single wait may take


async def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Yield to the loop until ``predicate`` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)  # polling the client's own task


def autosync_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name() == "etcd3py-autosync"}


async def test_async_with_connects_then_closes(backend: Backend, prefix: str) -> None:
    async with Client(backend.endpoints) as client:
        assert client._transport._started  # entering connected it
        assert repr(client) == f"Client({backend.endpoints!r}, open)"
        await client.put(prefix + "k", "v")
        assert (await client.get(prefix + "k")).kvs[0].value == b"v"
    assert client.closed
    assert repr(client) == f"Client({backend.endpoints!r}, closed)"


async def test_awaiting_the_client_connects_it_and_returns_it(backend: Backend) -> None:
    made = Client(backend.endpoints)
    client = await made
    try:
        assert client is made and client._transport._started
        assert await client.connect() is client  # idempotent
        assert (await client.member_list()).members
    finally:
        await client.close()


async def test_awaiting_a_client_of_nothing_raises_within_dial_timeout_and_closes_it() -> None:
    client = Client([f"127.0.0.1:{free_ports(1)[0]}"], dial_timeout=0.3)
    with pytest.raises(E.UnavailableError, match=r"dial_timeout=0\.3s"):
        await client
    assert client.closed  # as the sync constructor: a failed connect leaves nothing open
    with pytest.raises(E.ClientClosedError):
        await client.get("/k")


async def test_a_client_never_entered_connects_at_its_first_call(
    backend: Backend, prefix: str
) -> None:
    client = Client(backend.endpoints)
    try:
        assert not client._transport._started  # the constructor did no I/O
        await client.put(prefix + "k", "v")
        assert client._transport._started
        assert (await client.get(prefix + "k")).count == 1
    finally:
        await client.close()


async def test_a_client_never_entered_connects_at_its_first_stream(
    backend: Backend, prefix: str
) -> None:
    client = Client(backend.endpoints)
    try:
        async with Client(backend.endpoints) as writer:
            rev = (await writer.put(prefix + "k", "v")).header.revision
        async with client.watch(prefix + "k", rev=rev) as chan:  # the first use is a stream
            resp = await anext(aiter(chan))
        assert [e.kv.value for e in resp.events] == [b"v"]
        assert client._transport._started
    finally:
        await client.close()


async def test_a_client_never_entered_logs_in_at_its_first_call(
    admin: object, auth_backend: Backend
) -> None:
    client = Client(auth_backend.endpoints, username="root", password=ROOT_PW)
    try:
        assert client._transport._token is None
        await client.put("/auth/aio-first-call", "v")  # auth is on: refused without a token
        assert client._transport._token
        assert (await client.get("/auth/aio-first-call")).kvs[0].value == b"v"
        await client.delete("/auth/aio-first-call")
    finally:
        await client.close()
    wrong = Client(auth_backend.endpoints, username="root", password="wrong")
    try:
        for _ in range(2):  # a failed first connect leaves the client open: tried again
            with pytest.raises(E.AuthFailedError):
                await wrong.get("/auth/k")
        assert not wrong.closed
    finally:
        await wrong.close()
    anonymous = Client(auth_backend.endpoints)
    try:
        with pytest.raises(E.UserEmptyError):
            await anonymous.get("/auth/k")
    finally:
        await anonymous.close()


async def test_close_is_idempotent_ends_streams_and_leaves_no_task(
    backend: Backend, prefix: str
) -> None:
    before = asyncio.all_tasks()
    client = await Client(backend.endpoints)
    lease = await client.grant(30)
    keep = client.keep_alive(lease.id)
    assert (await anext(aiter(keep))).id == lease.id
    chan = await client.watch(prefix, prefix=True)
    assert asyncio.all_tasks() - before  # a task per stream while they run
    await client.close()
    await client.close()
    assert await tasks_left(before) == set()
    for stream in (chan, keep):  # ended by their client's close: the next step raises
        with pytest.raises(E.ClientClosedError):
            async for _ in stream:
                pass
    assert client.closed


@pytest.mark.parametrize(
    "use",
    [
        lambda c: c.get("/k"),
        lambda c: c.put("/k", "v"),
        lambda c: c.txn().commit(),
        lambda c: c.member_list(),
        lambda c: c.grant(10),
        lambda c: c.sync_endpoints(),
        lambda c: c.connect(),
    ],
    ids=["get", "put", "txn", "member_list", "grant", "sync_endpoints", "connect"],
)
async def test_use_after_close_raises_client_closed(
    backend: Backend, use: Callable[[Client], object]
) -> None:
    client = await Client(backend.endpoints)
    await client.close()
    with pytest.raises(E.ClientClosedError):
        await use(client)  # type: ignore[misc]
    with pytest.raises(E.ClientClosedError):
        client.with_namespace("/ns/")


async def test_a_client_closed_before_any_use_refuses_use(backend: Backend) -> None:
    client = Client(backend.endpoints)
    await client.close()
    await client.close()
    assert client.closed and repr(client) == f"Client({backend.endpoints!r}, closed)"
    with pytest.raises(E.ClientClosedError):
        await client.get("/k")


@pytest.mark.parametrize("how", ["async-with", "await", "first-call"])
async def test_auto_sync_runs_as_a_task_and_ends_with_close(backend: Backend, how: str) -> None:
    client = Client(backend.endpoints, auto_sync_interval=0.05)
    assert not autosync_tasks()  # no I/O, no task before connecting
    try:
        if how == "async-with":
            await client.__aenter__()
        elif how == "await":
            await client
        else:
            await client.get("/k")
        auto_sync = client._auto_sync
        assert auto_sync is not None and autosync_tasks() == {auto_sync.task}
        await wait_until(lambda: auto_sync.runs >= 2, "two auto syncs")
        assert auto_sync.failures == 0
        assert sorted(client.endpoints) == sorted(backend.endpoints)
    finally:
        await client.close()
    assert auto_sync.task.done() and not autosync_tasks()
    assert client._auto_sync is None
    await client.close()


async def test_an_auto_sync_failure_is_counted_and_the_task_goes_on(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Client(backend.endpoints, auto_sync_interval=0.05) as client:
        real = client._transport.sync_endpoints
        failures = [E.UnavailableError("etcd3py: the member list names no usable client URL")]

        async def flaky(*args: object) -> tuple[str, ...]:
            if failures:
                raise failures.pop()
            return await real(*args)

        monkeypatch.setattr(client._transport, "sync_endpoints", flaky)
        auto_sync = client._auto_sync
        assert auto_sync is not None
        await wait_until(lambda: auto_sync.failures == 1 and auto_sync.runs >= 1, "a retry")
        assert not auto_sync.task.done()
    assert auto_sync.task.done()


async def test_closing_a_namespaced_client_ends_only_its_watches_and_keep_alives(
    backend: Backend, prefix: str
) -> None:
    async with Client(backend.endpoints) as client:
        ns = client.with_namespace(prefix)
        assert repr(ns).startswith(f"NamespacedClient(prefix={prefix.encode()!r}, parent=Client(")
        lease = await ns.grant(30)
        ns_keep, parent_keep = ns.keep_alive(lease.id), client.keep_alive(lease.id)
        assert (await anext(aiter(ns_keep))).id == lease.id
        ns_chan = await ns.watch("k")
        parent_chan = await client.watch(prefix + "k")
        await ns.close()
        await ns.close()  # idempotent
        assert ns.closed and repr(ns).endswith(", closed)") and not client.closed
        assert [r async for r in ns_chan] == [] and ns_chan.err() is None  # its owner closed it
        assert [r async for r in ns_keep] == [] and ns_keep.err() is None
        with pytest.raises(E.ClientClosedError):
            await ns.put("k", "v")
        with pytest.raises(E.ClientClosedError):
            ns.with_namespace("inner/")
        rev = (await client.put(prefix + "k", "v")).header.revision  # the parent goes on
        got = await anext(aiter(parent_chan))
        assert [e.kv.mod_revision for e in got.events] == [rev]
        assert (await anext(aiter(parent_keep))).id == lease.id
        await client.revoke(lease.id)
    with pytest.raises(E.ClientClosedError):  # ended by its own client's close
        async for _ in parent_chan:
            pass


async def test_watches_and_keep_alives_go_on_across_an_endpoint_change(
    backend: Backend, prefix: str
) -> None:
    """``sync_endpoints`` replaces the channel: the streams opened before it keep theirs
    until it breaks (the sync face's rule), so no event and no renewal is lost."""
    host, port = backend.endpoints[0].rsplit(":", 1)
    async with Client([f"localhost:{port}"]) as client:
        chan = await client.watch(prefix, prefix=True)
        lease = await client.grant(3)  # renewed every second
        keep = client.keep_alive(lease.id)
        assert (await anext(aiter(keep))).id == lease.id
        assert await client._transport.set_endpoints(parse_endpoints([f"{host}:{port}"]))
        assert client.endpoints == [f"{host}:{port}"]
        revs = [(await client.put(prefix + str(i), "v")).header.revision for i in range(3)]
        seen: list[int] = []
        async for resp in chan:
            assert resp.err() is None, resp.err()
            seen += [e.kv.mod_revision for e in resp.events]
            if len(seen) >= len(revs):
                break
        assert seen == revs
        assert (await anext(aiter(keep))).id == lease.id and keep.err() is None
        await client.revoke(lease.id)
