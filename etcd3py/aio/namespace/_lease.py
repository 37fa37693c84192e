"""The asyncio namespace lease: :class:`etcd3py.namespace.NamespaceLease`'s rules, awaited.

Leases are not keyed: every call passes through, except that ``time_to_live(keys=True)``
lists only the namespace's keys, stripped (the shared ``unprefix_time_to_live``). Closing it
ends the keep-alives started through it only.
"""

from __future__ import annotations

from etcd3py._ints import LeaseLike
from etcd3py._keys import KeyLike, to_bytes
from etcd3py.aio.lease import KeepAlive, Lease
from etcd3py.context import Context
from etcd3py.errors import ArgumentTypeError
from etcd3py.lease import (
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)
from etcd3py.namespace._owned import Owned
from etcd3py.namespace._prefix import unprefix_time_to_live

__all__ = ["NamespaceLease"]


class NamespaceLease(Lease):
    """An asyncio lease concern whose ``time_to_live`` reports the namespace's keys only."""

    def __init__(self, lease: Lease, prefix: KeyLike) -> None:
        """Wrap ``lease``.

        Args:
            lease: the asyncio lease concern the calls go to (it stays the caller's).
            prefix: the namespace prefix (``str`` is encoded UTF-8).

        Raises:
            ArgumentTypeError: ``lease`` is not an asyncio Lease, or ``prefix`` not
                ``str``/``bytes``.
        """
        if not isinstance(lease, Lease):
            raise ArgumentTypeError(f"new_lease takes an asyncio Lease, not {type(lease).__name__}")
        self._lease = lease
        self._prefix = to_bytes(prefix, "prefix")
        self._owned: Owned[KeepAlive] = Owned("namespaced lease")

    @property
    def prefix(self) -> bytes:
        """The namespace prefix."""
        return self._prefix

    async def grant(
        self,
        ttl: int,
        *,
        id: int = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseGrantResponse:
        """See :meth:`etcd3py.lease.Lease.grant` (passed through)."""
        self._owned.check_open()
        return await self._lease.grant(ttl, id=id, timeout=timeout, ctx=ctx)

    async def revoke(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseRevokeResponse:
        """See :meth:`etcd3py.lease.Lease.revoke` (passed through)."""
        self._owned.check_open()
        return await self._lease.revoke(id, timeout=timeout, ctx=ctx)

    async def time_to_live(
        self,
        id: LeaseLike,
        *,
        keys: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseTimeToLiveResponse:
        """See :meth:`etcd3py.namespace.NamespaceLease.time_to_live`."""
        self._owned.check_open()
        response = await self._lease.time_to_live(id, keys=keys, timeout=timeout, ctx=ctx)
        return unprefix_time_to_live(self._prefix, response)

    async def leases(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseLeasesResponse:
        """See :meth:`etcd3py.lease.Lease.leases` (passed through)."""
        self._owned.check_open()
        return await self._lease.leases(timeout=timeout, ctx=ctx)

    async def keep_alive_once(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseKeepAliveResponse:
        """See :meth:`etcd3py.lease.Lease.keep_alive_once` (passed through)."""
        self._owned.check_open()
        return await self._lease.keep_alive_once(id, timeout=timeout, ctx=ctx)

    def keep_alive(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> KeepAlive:
        """See :meth:`etcd3py.lease.Lease.keep_alive`; no I/O, as the wrapped one."""
        self._owned.check_open()
        handle = self._lease.keep_alive(id, timeout=timeout, ctx=ctx)
        if not self._owned.add(handle):  # pragma: no cover - closed between check and add
            raise self._owned.refused()
        return handle

    async def close(self) -> None:
        """End the keep-alives started through this wrapper and refuse new calls."""
        for handle in self._owned.close():
            await handle.close()

    def __repr__(self) -> str:
        return f"NamespaceLease(prefix={self._prefix!r}, lease={self._lease!r})"
