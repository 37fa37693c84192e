"""The ``Client`` methods that forward to ``client.lease``."""

from __future__ import annotations

from etcd3py.context import Context
from etcd3py.lease import (
    KeepAlive,
    Lease,
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)

__all__ = ["LeaseMethods"]


class LeaseMethods:
    """The Lease methods of a client.

    Each method looks ``self.lease`` up on every call, so replacing ``client.lease`` changes
    what it does, as in clientv3.
    """

    lease: Lease

    def grant(self, ttl: int, *, id: int = 0, timeout: float | None = None) -> LeaseGrantResponse:
        """Create a lease: ``client.lease.grant``; see :meth:`etcd3py.lease.Lease.grant`.

        Args:
            ttl: the TTL in seconds.
            id: the ID to use; 0 lets the server choose.
            timeout: seconds for the call.

        Returns:
            The lease's ID and granted TTL.
        """
        return self.lease.grant(ttl, id=id, timeout=timeout)

    def revoke(self, id: int, *, timeout: float | None = None) -> LeaseRevokeResponse:
        """Revoke a lease, deleting its keys: ``client.lease.revoke``.

        Args:
            id: the lease ID.
            timeout: seconds for the call.

        Returns:
            The response.
        """
        return self.lease.revoke(id, timeout=timeout)

    def time_to_live(
        self, id: int, *, keys: bool = False, timeout: float | None = None
    ) -> LeaseTimeToLiveResponse:
        """Ask how long a lease has left: ``client.lease.time_to_live``.

        Args:
            id: the lease ID.
            keys: also list the keys attached to it.
            timeout: seconds for the call.

        Returns:
            The remaining and granted TTL (and keys).
        """
        return self.lease.time_to_live(id, keys=keys, timeout=timeout)

    def leases(self, *, timeout: float | None = None) -> LeaseLeasesResponse:
        """List every live lease: ``client.lease.leases``.

        Args:
            timeout: seconds for the call.

        Returns:
            The lease IDs.
        """
        return self.lease.leases(timeout=timeout)

    def keep_alive_once(self, id: int, *, timeout: float | None = None) -> LeaseKeepAliveResponse:
        """Renew a lease once: ``client.lease.keep_alive_once``.

        Args:
            id: the lease ID.
            timeout: seconds for the call.

        Returns:
            The renewal.
        """
        return self.lease.keep_alive_once(id, timeout=timeout)

    def keep_alive(self, id: int, *, ctx: Context | None = None) -> KeepAlive:
        """Keep a lease alive: ``client.lease.keep_alive``; see
        :meth:`etcd3py.lease.Lease.keep_alive` and :class:`etcd3py.lease.KeepAlive`.

        Args:
            id: the lease ID.
            ctx: a context whose end ends this keep-alive.

        Returns:
            The iterator of renewals (``close()`` stops renewing for this caller).
        """
        return self.lease.keep_alive(id, ctx=ctx)
