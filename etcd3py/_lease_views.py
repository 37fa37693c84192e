"""The lease response views: read-only, typed, over the protobuf messages (as ``_responses``).

Re-exported by :mod:`etcd3py.lease`, whose names they are; no I/O here.
"""

from __future__ import annotations

from etcd3py import _pb
from etcd3py._responses import _View


class LeaseGrantResponse(_View[_pb.rpc.LeaseGrantResponse]):
    """The answer to :meth:`Lease.grant`.

    Attributes:
        header: the response header.
        id: the lease ID (the one asked for, or chosen by the server).
        ttl: the TTL the server granted, in seconds (it may raise a too-small one).
    """

    __slots__ = ()

    @property
    def id(self) -> int:
        """The lease ID."""
        return self._pb.ID

    @property
    def ttl(self) -> int:
        """The granted TTL, in seconds."""
        return self._pb.TTL

    def __repr__(self) -> str:
        return f"LeaseGrantResponse(id={self.id}, ttl={self.ttl})"


class LeaseRevokeResponse(_View[_pb.rpc.LeaseRevokeResponse]):
    """The answer to :meth:`Lease.revoke`.

    Attributes:
        header: the response header (``.revision`` is that of the deletion of its keys).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"LeaseRevokeResponse(revision={self.header.revision})"


class LeaseTimeToLiveResponse(_View[_pb.rpc.LeaseTimeToLiveResponse]):
    """The answer to :meth:`Lease.time_to_live`.

    Attributes:
        header: the response header.
        id: the lease ID.
        ttl: the seconds left (``-1`` when the lease does not exist, as etcd answers).
        granted_ttl: the TTL granted at grant time, in seconds.
        keys: the keys attached to the lease (with ``keys=True``).
    """

    __slots__ = ()

    @property
    def id(self) -> int:
        """The lease ID."""
        return self._pb.ID

    @property
    def ttl(self) -> int:
        """The remaining TTL in seconds; ``-1`` for a lease that does not exist."""
        return self._pb.TTL

    @property
    def granted_ttl(self) -> int:
        """The TTL granted at grant time, in seconds."""
        return self._pb.grantedTTL

    @property
    def keys(self) -> list[bytes]:
        """The keys attached to the lease (empty unless asked for with ``keys=True``)."""
        return list(self._pb.keys)

    def __repr__(self) -> str:
        return (
            f"LeaseTimeToLiveResponse(id={self.id}, ttl={self.ttl}, "
            f"granted_ttl={self.granted_ttl}, keys={self.keys!r})"
        )


class LeaseLeasesResponse(_View[_pb.rpc.LeaseLeasesResponse]):
    """The answer to :meth:`Lease.leases`.

    Attributes:
        header: the response header.
        leases: the IDs of every live lease.
    """

    __slots__ = ()

    @property
    def leases(self) -> list[int]:
        """The IDs of every live lease."""
        return [status.ID for status in self._pb.leases]

    def __repr__(self) -> str:
        return f"LeaseLeasesResponse(leases={self.leases!r})"


class LeaseKeepAliveResponse(_View[_pb.rpc.LeaseKeepAliveResponse]):
    """One renewal of a lease.

    Attributes:
        header: the response header.
        id: the lease ID.
        ttl: the TTL the lease was renewed to, in seconds.
    """

    __slots__ = ()

    @property
    def id(self) -> int:
        """The lease ID."""
        return self._pb.ID

    @property
    def ttl(self) -> int:
        """The TTL the lease was renewed to, in seconds."""
        return self._pb.TTL

    def __repr__(self) -> str:
        return f"LeaseKeepAliveResponse(id={self.id}, ttl={self.ttl})"
