"""The Lease service's unary RPCs, described once (see :mod:`etcd3py._calls`).

``grant`` (LeaseGrant) and ``revoke`` (LeaseRevoke) are not repeatable after a failure
that may have reached the server (as clientv3: a repeated revoke could answer a false
"lease not found"); ``time_to_live`` (LeaseTimeToLive) and ``leases`` (LeaseLeases) are
reads, repeated on any ``UNAVAILABLE``. Arguments are checked here, before anything is
sent.

``keep_alive_once`` is one message over the ``LeaseKeepAlive`` stream, which a transport's
``run`` cannot issue (it calls unary methods only): its description is here (request,
retry class, the answer's rule), and each face's ``GrpcLease`` issues it as a one-response
stream call through its transport's ``call``.
"""

from __future__ import annotations

from etcd3py import _pb
from etcd3py._calls import Call
from etcd3py._ints import LeaseLike, check_int, lease_id
from etcd3py._lease_views import (
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)
from etcd3py.errors import LeaseNotFoundError

__all__ = ["grant", "keep_alive_once", "leases", "revoke", "time_to_live"]


def grant(ttl: int, id: int) -> Call[LeaseGrantResponse]:
    """Describe the LeaseGrant RPC.

    Args:
        ttl: the TTL in seconds.
        id: the lease ID to use; 0 lets the server choose.

    Returns:
        The call (not repeatable: a grant may have been applied).

    Raises:
        ArgumentTypeError: ``ttl`` or ``id`` is not an int.
        InvalidArgumentError: ``ttl`` or ``id`` is negative or past ``2**63 - 1``.
    """
    request = _pb.rpc.LeaseGrantRequest(TTL=check_int("ttl", ttl), ID=check_int("id", id))
    return Call("lease", "LeaseGrant", request, LeaseGrantResponse)


def revoke(id: LeaseLike) -> Call[LeaseRevokeResponse]:
    """Describe the LeaseRevoke RPC.

    Args:
        id: the lease ID, or anything with an ``.id`` (a grant response).

    Returns:
        The call (not repeatable, as clientv3: a revoke that got through then repeated
        would answer "lease not found").

    Raises:
        ArgumentTypeError: ``id`` is neither an int nor has an int ``.id``.
        InvalidArgumentError: the ID is negative or past ``2**63 - 1``.
    """
    request = _pb.rpc.LeaseRevokeRequest(ID=lease_id(id, "id"))
    return Call("lease", "LeaseRevoke", request, LeaseRevokeResponse)


def time_to_live(id: LeaseLike, keys: bool) -> Call[LeaseTimeToLiveResponse]:
    """Describe the LeaseTimeToLive RPC.

    Args:
        id: the lease ID, or anything with an ``.id`` (a grant response).
        keys: also list the keys attached to the lease (any value, taken as a bool).

    Returns:
        The call (a read: repeatable).

    Raises:
        ArgumentTypeError: ``id`` is neither an int nor has an int ``.id``.
        InvalidArgumentError: the ID is negative or past ``2**63 - 1``.
    """
    request = _pb.rpc.LeaseTimeToLiveRequest(ID=lease_id(id, "id"), keys=bool(keys))
    return Call("lease", "LeaseTimeToLive", request, LeaseTimeToLiveResponse, repeatable=True)


def leases() -> Call[LeaseLeasesResponse]:
    """Describe the LeaseLeases RPC (every live lease).

    Returns:
        The call (a read: repeatable).
    """
    request = _pb.rpc.LeaseLeasesRequest()
    return Call("lease", "LeaseLeases", request, LeaseLeasesResponse, repeatable=True)


def keep_alive_once(id: LeaseLike) -> Call[LeaseKeepAliveResponse]:
    """Describe one renewal over the LeaseKeepAlive stream (one request, one response).

    Args:
        id: the lease ID, or anything with an ``.id`` (a grant response).

    Returns:
        The call (repeatable: renewing is idempotent); its view raises
        ``LeaseNotFoundError`` for an answer with ``ttl <= 0`` (the lease is gone).

    Raises:
        ArgumentTypeError: ``id`` is neither an int nor has an int ``.id``.
        InvalidArgumentError: the ID is negative or past ``2**63 - 1``.
    """
    request = _pb.rpc.LeaseKeepAliveRequest(ID=lease_id(id, "id"))
    return Call("lease", "LeaseKeepAlive", request, _renewed, repeatable=True)


def _renewed(response: _pb.rpc.LeaseKeepAliveResponse) -> LeaseKeepAliveResponse:
    if response.TTL <= 0:
        raise LeaseNotFoundError("etcdserver: requested lease not found")
    return LeaseKeepAliveResponse(response)
