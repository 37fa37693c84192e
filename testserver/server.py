"""The reference server's lifecycle: one daemon thread running one asyncio loop with grpc.aio.

:class:`Server` owns the store and the lessor (which live as long as the Server object,
across restarts; the lease expiry task runs on the loop while serving),
the thread and its loop, and the gRPC server (rebuilt by :meth:`Server.restart`). Its public
methods may be called from any thread: they hop onto the loop with
``asyncio.run_coroutine_threadsafe`` and wait for the result with a time limit. Everything
the servicers and the store do happens on that one loop, so the store needs no lock.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

import grpc

from etcd3py import _stubs
from testserver.auth import DEFAULT_TOKEN_TTL, AuthStore, SimpleTokens
from testserver.lease import Lessor
from testserver.mvcc.apply import Applier
from testserver.mvcc.store import Store
from testserver.mvcc.watchable_store import WatchableStore
from testserver.services._base import ServerState
from testserver.services._header import Header
from testserver.services.auth import AuthService
from testserver.services.cluster import ClusterService
from testserver.services.kv import KVService
from testserver.services.lease import LeaseService, expiry_loop
from testserver.services.maintenance import MaintenanceService
from testserver.services.watch import DEFAULT_PROGRESS_INTERVAL, WatchService

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "DEFAULT_MAX_TXN_OPS", "GRPC_OVERHEAD_BYTES", "Server"]

log = logging.getLogger(__name__)

#: etcd's default ``--max-request-bytes`` (1.5 MiB).
DEFAULT_MAX_REQUEST_BYTES = 1572864
#: etcd's default ``--max-txn-ops``.
DEFAULT_MAX_TXN_OPS = 128
#: what etcd lets gRPC receive beyond ``max_request_bytes`` (``grpcOverheadBytes``).
GRPC_OVERHEAD_BYTES = 512 * 1024
_CALL_TIMEOUT = 10.0
_JOIN_TIMEOUT = 5.0

T = TypeVar("T")


def _random_id() -> int:
    # etcd derives request ids from the member id's low 16 bits placed at the top; keeping
    # bit 15 clear keeps them below 2**63, as for etcd's default member.
    return (secrets.randbits(64) & ~0x8000) or 1


class Server:
    """A single-member etcd 3.5.1 speaking the v3 gRPC API, in pure Python.

    Example:
        >>> with Server() as srv:          # doctest: +SKIP
        ...     print(srv.endpoint)        # "127.0.0.1:PORT"

    Args:
        port: the port to listen on; 0 picks a free one (kept across restarts).
        host: the address to bind (loopback by default).
        max_request_bytes: etcd's ``--max-request-bytes``: larger writes answer
            ``RequestTooLargeError``; gRPC refuses messages beyond it plus 512 KiB.
        max_txn_ops: etcd's ``--max-txn-ops``.
        progress_interval: seconds between watch progress notifications (etcd's
            ``--experimental-watch-progress-notify-interval``; at least 0.1).
        auth_token_ttl: seconds a simple auth token lives after its last use (etcd's
            ``--auth-token-ttl``, default 300; fractions allowed here).
        unix_socket: listen on this unix socket path instead of ``host:port`` (as etcd's
            ``--listen-client-urls unix://...``); :attr:`endpoint` is then ``unix://PATH``.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        auth_token_ttl: float = DEFAULT_TOKEN_TTL,
        unix_socket: str | None = None,
    ) -> None:
        if progress_interval <= 0:
            raise ValueError("progress_interval must be > 0")
        if auth_token_ttl <= 0:
            raise ValueError("auth_token_ttl must be > 0")
        self.host = host
        self.unix_socket = unix_socket
        self.progress_interval = progress_interval
        self._lessor = Lessor()
        store = Store(lessor=self._lessor)
        self._lessor.bind(store)
        self._watchable = WatchableStore(store)
        self._state = ServerState(
            store=store,
            applier=Applier(store),
            header=Header(store, cluster_id=_random_id(), member_id=_random_id()),
            max_request_bytes=max_request_bytes,
            max_txn_ops=max_txn_ops,
            port=port,
            auth=AuthStore(SimpleTokens(ttl=auth_token_ttl)),
        )
        self._lock = threading.Lock()  # guards start/stop/restart against each other
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._grpc: grpc.aio.Server | None = None  # touched only on the loop
        self._expiry: asyncio.Task[None] | None = None  # the lease expiry task, on the loop

    # ---- properties ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on (0 before the first start with ``port=0``)."""
        return self._state.port

    @property
    def endpoint(self) -> str:
        """``"HOST:PORT"`` (or ``"unix://PATH"``), as clients take it."""
        if self.unix_socket is not None:
            return f"unix://{self.unix_socket}"
        return f"{self.host}:{self.port}"

    @property
    def store(self) -> Store:
        """The MVCC store (for tests; touch it only while the server is stopped)."""
        return self._state.store

    @property
    def watchable(self) -> WatchableStore:
        """The watchable store (for tests; touch it only on the server's loop or stopped)."""
        return self._watchable

    @property
    def lessor(self) -> Lessor:
        """The lease registry (for tests; touch it only on the server's loop or stopped)."""
        return self._lessor

    @property
    def state(self) -> ServerState:
        """Everything the servicers share (for later services and fault tests)."""
        return self._state

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._thread is not None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving; returns once the port is bound. Does nothing if already running.

        Raises:
            RuntimeError: the port could not be bound.
        """
        with self._lock:
            if self._thread is not None:
                return
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=self._run_loop, args=(loop, ready), name="testserver-loop", daemon=True
            )
            thread.start()
            ready.wait(_JOIN_TIMEOUT)
            self._loop, self._thread = loop, thread
            try:
                self._call(self._start_grpc())
            except BaseException:
                self._halt_loop()
                raise

    def stop(self) -> None:
        """Stop serving and join the loop thread (with a time limit). Idempotent; keeps data."""
        with self._lock:
            if self._thread is None:
                return
            try:
                self._call(self._stop_grpc())
            finally:
                self._halt_loop()

    def restart(self) -> None:
        """Stop the gRPC server and serve again on the same port, keeping every key and revision.

        Clients see their calls and streams fail (as when etcd restarts) and can reconnect.
        Leases are kept and refreshed to their full TTL plus etcd's election timeout, as a
        restarted etcd's leader does, so none expires because of the restart. Users, roles
        and the auth flag are kept, but every auth token is dropped: etcd keeps simple tokens
        in memory only, so clients must authenticate again.
        """
        with self._lock:
            if self._thread is None:
                raise RuntimeError("restart() needs a running server")
            self._call(self._stop_grpc())
            self._state.auth.tokens.clear()
            self._call(self._start_grpc())

    def drop_streams(self) -> int:
        """Abort every open gRPC stream with ``UNAVAILABLE``; unary calls are untouched.

        Watch streams included: their watchers are cancelled; history stays, so a client
        resuming from its next revision gets every event.

        Returns:
            How many streams were dropped.
        """
        return self._call(self._drop_streams())

    def expire_lease(self, lease_id: int) -> bool:
        """Expire a lease now, as its TTL running out would: its keys are deleted in one
        revision (watchers see the deletes) and its keep-alives learn it is gone.

        Args:
            lease_id: the lease's ID.

        Returns:
            Whether the lease existed (False: nothing was done).
        """

        async def expire() -> bool:
            if not self._lessor.lookup(lease_id):
                return False
            self._lessor.revoke(lease_id)
            self._state.raft_index += 1  # one more entry, as the expiry loop's revoke
            return True

        return self._call(expire())

    def set_delay(self, seconds: float) -> None:
        """Delay every unary call by ``seconds`` before serving it (0 turns the delay off)."""
        if seconds < 0:
            raise ValueError("delay must be >= 0")

        async def apply() -> None:
            self._state.faults.delay = seconds

        self._call(apply())

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- on the loop -----------------------------------------------------------------------

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    async def _start_grpc(self) -> None:
        st = self._state
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", st.max_request_bytes + GRPC_OVERHEAD_BYTES),
                ("grpc.max_send_message_length", 2**31 - 1),
                ("grpc.so_reuseport", 0),
            ]
        )
        _stubs.rpc_grpc.add_KVServicer_to_server(KVService(st, self._lessor), server)
        _stubs.rpc_grpc.add_AuthServicer_to_server(AuthService(st), server)
        _stubs.rpc_grpc.add_MaintenanceServicer_to_server(MaintenanceService(st), server)
        _stubs.rpc_grpc.add_ClusterServicer_to_server(ClusterService(st), server)
        watch = WatchService(
            st,
            self._watchable,
            progress_interval=self.progress_interval,
            max_response_bytes=st.max_request_bytes + GRPC_OVERHEAD_BYTES,
        )
        _stubs.rpc_grpc.add_WatchServicer_to_server(watch, server)
        _stubs.rpc_grpc.add_LeaseServicer_to_server(LeaseService(st, self._lessor), server)
        address = f"{self.host}:{st.port}"
        if self.unix_socket is not None:
            address = f"unix:{self.unix_socket}"
        port = server.add_insecure_port(address)
        if port == 0:
            raise RuntimeError(f"testserver: cannot bind {address}")
        await server.start()
        if self.unix_socket is None:
            st.port = port
        self._grpc = server
        # as etcd's new leader: refresh every lease, so none expires because we were down
        self._lessor.promote()
        self._expiry = asyncio.get_running_loop().create_task(expiry_loop(st, self._lessor))
        log.debug("testserver listening on %s", self.endpoint)

    async def _stop_grpc(self) -> None:
        server, self._grpc = self._grpc, None
        expiry, self._expiry = self._expiry, None
        if expiry is not None:
            expiry.cancel()
            await asyncio.gather(expiry, return_exceptions=True)
        if server is not None:
            self._state.faults.streams.drop_all()
            await server.stop(None)

    async def _drop_streams(self) -> int:
        return self._state.faults.streams.drop_all()

    # ---- thread hopping --------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None or self._thread is None:
            coro.close()
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(_CALL_TIMEOUT)

    def _halt_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop, self._thread = None, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(_JOIN_TIMEOUT)
            if thread.is_alive():
                log.warning("testserver loop thread did not stop within %.1fs", _JOIN_TIMEOUT)
