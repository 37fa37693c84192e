"""The namespace lease: a :class:`~etcd3py.lease.Lease` whose ``time_to_live`` keys are stripped.

Owns :class:`NamespaceLease` (clientv3 ``namespace/lease.go``). Leases are not keyed, so
every call passes through to the wrapped lease, except that ``time_to_live(keys=True)``
lists only the attached keys inside the namespace, without the prefix (a key equal to the
prefix itself is outside, as for the namespace KV).

Closing differs from clientv3 on purpose: :meth:`NamespaceLease.close` ends the keep-alives
started through this wrapper only, never the wrapped lease (which its client owns).
"""

from __future__ import annotations

from etcd3py._ints import LeaseLike
from etcd3py._keys import KeyLike, to_bytes
from etcd3py.context import Context
from etcd3py.errors import ArgumentTypeError
from etcd3py.lease import (
    KeepAlive,
    Lease,
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)
from etcd3py.namespace._owned import Owned
from etcd3py.namespace._prefix import unprefix_time_to_live


class NamespaceLease(Lease):
    """A lease concern whose ``time_to_live`` reports only the namespace's keys, stripped."""

    def __init__(self, lease: Lease, prefix: KeyLike) -> None:
        """Wrap ``lease``.

        Args:
            lease: the lease concern the calls go to (it stays the caller's).
            prefix: the namespace prefix (``str`` is encoded UTF-8).

        Raises:
            ArgumentTypeError: ``lease`` is not a Lease, or ``prefix`` not ``str``/``bytes``.
        """
        if not isinstance(lease, Lease):
            raise ArgumentTypeError(f"new_lease takes a Lease, not {type(lease).__name__}")
        self._lease = lease
        self._prefix = to_bytes(prefix, "prefix")
        self._owned: Owned[KeepAlive] = Owned("namespaced lease")

    @property
    def prefix(self) -> bytes:
        """The namespace prefix."""
        return self._prefix

    def _check_open(self) -> None:
        self._owned.check_open()

    def grant(
        self,
        ttl: int,
        *,
        id: int = 0,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseGrantResponse:
        """See :meth:`etcd3py.lease.Lease.grant` (passed through)."""
        self._check_open()
        return self._lease.grant(ttl, id=id, timeout=timeout, ctx=ctx)

    def revoke(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseRevokeResponse:
        """See :meth:`etcd3py.lease.Lease.revoke` (passed through)."""
        self._check_open()
        return self._lease.revoke(id, timeout=timeout, ctx=ctx)

    def time_to_live(
        self,
        id: LeaseLike,
        *,
        keys: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> LeaseTimeToLiveResponse:
        """See :meth:`etcd3py.lease.Lease.time_to_live`; ``keys`` lists the namespace's only.

        Returns:
            The response; its ``keys`` are the attached keys inside the namespace, stripped.
        """
        self._check_open()
        response = self._lease.time_to_live(id, keys=keys, timeout=timeout, ctx=ctx)
        return unprefix_time_to_live(self._prefix, response)

    def leases(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseLeasesResponse:
        """See :meth:`etcd3py.lease.Lease.leases` (passed through: leases are not keyed)."""
        self._check_open()
        return self._lease.leases(timeout=timeout, ctx=ctx)

    def keep_alive_once(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> LeaseKeepAliveResponse:
        """See :meth:`etcd3py.lease.Lease.keep_alive_once` (passed through)."""
        self._check_open()
        return self._lease.keep_alive_once(id, timeout=timeout, ctx=ctx)

    def keep_alive(
        self, id: LeaseLike, *, timeout: float | None = None, ctx: Context | None = None
    ) -> KeepAlive:
        """See :meth:`etcd3py.lease.Lease.keep_alive`; the wrapped lease's thread renews it.

        Raises:
            ClientClosedError: this wrapper (or the wrapped lease) is closed.
        """
        self._check_open()
        handle = self._lease.keep_alive(id, timeout=timeout, ctx=ctx)
        if not self._owned.add(handle):  # closed while the keep-alive was being made
            handle.close()
            raise self._owned.refused()
        return handle

    def close(self) -> None:
        """End the keep-alives started through this wrapper and refuse new calls. Idempotent.

        The wrapped lease and its other keep-alives go on; each one closed here ends as
        after its own ``close()`` (the lease is no longer renewed for it).
        """
        for handle in self._owned.close():
            handle.close()

    def __repr__(self) -> str:
        return f"NamespaceLease(prefix={self._prefix!r}, lease={self._lease!r})"
