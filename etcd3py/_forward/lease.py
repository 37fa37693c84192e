"""The ``Client`` methods that forward to ``client.lease``."""

from __future__ import annotations

from etcd3py._ints import LeaseLike
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

    def grant(
        self,
        ttl: int,
        *,
        id: int = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseGrantResponse:
        """Create a lease: ``client.lease.grant``; see :meth:`etcd3py.lease.Lease.grant`.

        Args:
            ttl: the TTL in seconds (etcd raises one below its minimum).
            id: the ID to use; 0 lets the server choose.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The lease's ID and granted TTL.
        """
        return self.lease.grant(ttl, id=id, timeout=timeout, ctx=ctx)

    def revoke(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseRevokeResponse:
        """Revoke a lease, deleting its keys: ``client.lease.revoke``.

        Args:
            id: the lease ID, or its grant response.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.lease.revoke(id, timeout=timeout, ctx=ctx)

    def time_to_live(
        self,
        id: LeaseLike,
        *,
        keys: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseTimeToLiveResponse:
        """Ask how long a lease has left: ``client.lease.time_to_live``.

        Args:
            id: the lease ID, or its grant response.
            keys: also list the keys attached to it.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The remaining and granted TTL (and keys).
        """
        return self.lease.time_to_live(id, keys=keys, timeout=timeout, ctx=ctx)

    def leases(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseLeasesResponse:
        """List every live lease: ``client.lease.leases``.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The lease IDs.
        """
        return self.lease.leases(timeout=timeout, ctx=ctx)

    def keep_alive_once(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseKeepAliveResponse:
        """Renew a lease once: ``client.lease.keep_alive_once``.

        Args:
            id: the lease ID, or its grant response.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The renewal.
        """
        return self.lease.keep_alive_once(id, timeout=timeout, ctx=ctx)

    def keep_alive(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> KeepAlive:
        """Keep a lease alive: ``client.lease.keep_alive``; see
        :meth:`etcd3py.lease.Lease.keep_alive` and :class:`etcd3py.lease.KeepAlive`.

        It renews until its own ``close()``, its ``ctx`` ends (or ``timeout`` passes), or
        the client closes; ended otherwise than by its ``close()``, the next iteration
        raises why.

        Args:
            id: the lease ID, or its grant response.
            timeout: seconds after which it ends with ``DeadlineExceededError``.
            ctx: a Context whose deadline, cancellation and metadata apply (its metadata
                picks the keep-alive stream).

        Returns:
            The iterator of renewals (``close()`` stops renewing for this caller).
        """
        return self.lease.keep_alive(id, timeout=timeout, ctx=ctx)
