"""Client behaviour that needs no server: construction without dialing, close, fork, stand-ins."""

from __future__ import annotations

import asyncio
import os

import pytest

from etcd3py import Client, Op
from etcd3py.errors import (
    ArgumentTypeError,
    ClientClosedError,
    ForkedClientError,
    InvalidArgumentError,
)
from tests.forked import in_forked_child

NOWHERE = "127.0.0.1:1"  # nothing listens on port 1; dial_timeout=None does not wait


def test_close_is_idempotent_and_use_after_close_raises() -> None:
    client = Client(NOWHERE, dial_timeout=None)
    client.close()
    client.close()
    assert client.closed
    for call in (
        lambda: client.get("a"),
        lambda: client.put("a", "b"),
        lambda: client.delete("a"),
        lambda: client.compact(1),
        lambda: client.do(Op.get("a")),
        lambda: client.txn().commit(),
        lambda: client.member_list(),
    ):
        with pytest.raises(ClientClosedError):
            call()


def test_context_manager_closes() -> None:
    with Client([NOWHERE], dial_timeout=None) as client:
        assert not client.closed
    assert client.closed
    assert "closed" in repr(client)


def _forked_error(exc: ForkedClientError) -> bytes:
    return b"forked" if "create clients after forking" in str(exc) else b"other text"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_use_in_a_forked_child_raises_forked_error() -> None:
    # both faces' transports check with UsableCheck.check_usable: a fork count, no getpid()
    client = Client(NOWHERE, dial_timeout=None)

    def child() -> bytes:
        try:
            client.get("a")
        except ForkedClientError as exc:
            return _forked_error(exc)
        return b"usable"

    try:
        assert in_forked_child(child) == b"forked"
        client._transport.check_usable()  # the parent's client is untouched
    finally:
        client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_an_asyncio_client_used_in_a_forked_child_raises_forked_error() -> None:
    from etcd3py.aio import Client as AioClient

    async def main() -> bytes:
        async with AioClient(NOWHERE, dial_timeout=None) as client:

            def child() -> bytes:
                try:
                    client._transport.check_usable()  # what every call does first
                except ForkedClientError as exc:
                    return _forked_error(exc)
                return b"usable"

            seen = in_forked_child(child)
            client._transport.check_usable()  # the parent's client is untouched
            return seen

    assert asyncio.run(main()) == b"forked"


def test_use_from_another_process_id_raises_forked_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from etcd3py import _transport

    client = Client(NOWHERE, dial_timeout=None)
    try:
        real = os.getpid()
        monkeypatch.setattr(os, "getpid", lambda: real + 1)
        monkeypatch.setattr(_transport._Forks, "count", _transport._Forks.count + 1)
        with pytest.raises(ForkedClientError, match="create clients after forking"):
            client.get("a")
        client.close()  # in the "child": marks closed without touching the channel
        assert client.closed
    finally:
        monkeypatch.undo()
        client._transport.channel.close()


def test_every_concern_is_there() -> None:
    from etcd3py.auth import Auth

    with Client(NOWHERE, dial_timeout=None) as client:
        assert isinstance(client.auth, Auth)


def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    with Client(NOWHERE, dial_timeout=None) as client:
        with pytest.raises(ArgumentTypeError):
            client.get("a", timeout="1")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            client.get("a", timeout=-1)
        with pytest.raises(ArgumentTypeError):
            client.compact("3")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            client.compact(-3)
        with pytest.raises(ArgumentTypeError):
            client.do("get a")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        Client("ftp://h:1", dial_timeout=None)
    with pytest.raises(InvalidArgumentError):
        Client(NOWHERE, dial_timeout=None, lb_policy="random")


def test_replacing_kv_changes_the_forwarding_methods() -> None:
    from tests.unit.test_kv_base import RecordingKV

    with Client(NOWHERE, dial_timeout=None) as client:
        fake = RecordingKV()
        client.kv = fake
        client.put("a", "b")
        client.get("a")
        client.delete("a")
        client.do(Op.get("z"))
        client.txn().commit()
        assert [op.type.value for op, _ in fake.ops] == ["put", "get", "delete", "get", "txn"]
