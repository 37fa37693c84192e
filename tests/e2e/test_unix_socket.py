"""A member listening on a unix socket: ``unix://path`` endpoints, on every backend.

etcd takes ``--listen-client-urls unix://NAME`` and makes a socket file named NAME in its
working directory (the test members run in their own directory); ``unix:///abs/path``
reaches it from anywhere. The reference server takes ``Server(unix_socket=PATH)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from etcd3py import Client
from tests.backends import (
    BackendUnavailable,
    EtcdProcess,
    _etcd34_binary,
    _etcd35_binary,
    free_ports,
)

pytestmark = pytest.mark.both_faces

NewClient = Callable[..., Client]


@contextlib.contextmanager
def _socket_member(name: str, tmp_path: Path) -> Iterator[str]:
    """Yield a ``unix://`` endpoint of a private member of backend ``name``."""
    if name == "testserver":
        from testserver import Server

        with Server(unix_socket=str(tmp_path / "etcd.sock")) as srv:
            yield srv.endpoint
        return
    try:
        binary = (_etcd35_binary if name == "etcd35" else _etcd34_binary)()[0]
    except BackendUnavailable as exc:
        pytest.skip(f"backend {name} unavailable: {exc}")
    client_port, peer_port, socket_port = free_ports(3)
    sock = f"localhost:{socket_port}"
    member = EtcdProcess(
        binary,
        client_port=client_port,
        peer_port=peer_port,
        # the last flag wins: serve TCP (for the readiness check) and the socket
        extra_args=[f"--listen-client-urls=http://127.0.0.1:{client_port},unix://{sock}"],
    )
    try:
        member.start()
        member.wait_serving()
        yield f"unix://{member.root / sock}"
    finally:
        member.remove()


@pytest.mark.parametrize("name", ["testserver", "etcd35", "etcd34"])
def test_a_unix_socket_endpoint_serves_kv_and_watch(
    name: str, tmp_path: Path, new_client: NewClient
) -> None:
    with _socket_member(name, tmp_path) as endpoint, new_client(endpoint) as client:
        assert client.endpoints == [endpoint]
        put = client.put("/unix/k", "v")
        assert client.get("/unix/k").kvs[0].value == b"v"
        with client.watch("/unix/", prefix=True, rev=put.header.revision) as watch:
            first = next(iter(watch))
        assert [ev.kv.key for ev in first.events] == [b"/unix/k"]
