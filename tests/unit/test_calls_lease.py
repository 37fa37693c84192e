"""The Lease RPC descriptions (etcd3py._calls.lease): request, retry class, view, checks."""

from __future__ import annotations

import pytest

from etcd3py import _pb
from etcd3py._calls import lease as calls
from etcd3py._ints import INT64_MAX
from etcd3py.errors import ArgumentTypeError, InvalidArgumentError
from etcd3py.lease import (
    LeaseGrantResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
)


def test_grant_is_described_not_repeatable() -> None:
    call = calls.grant(10, 7)
    assert (call.service, call.method, call.repeatable) == ("lease", "LeaseGrant", False)
    assert call.request == _pb.rpc.LeaseGrantRequest(TTL=10, ID=7)
    view = call.wrap(_pb.rpc.LeaseGrantResponse(ID=7, TTL=10))
    assert isinstance(view, LeaseGrantResponse)
    assert (view.id, view.ttl) == (7, 10)


def test_revoke_is_not_repeatable_and_takes_a_grant_response() -> None:
    granted = LeaseGrantResponse(_pb.rpc.LeaseGrantResponse(ID=42, TTL=5))
    call = calls.revoke(granted)
    assert (call.service, call.method, call.repeatable) == ("lease", "LeaseRevoke", False)
    assert call.request == _pb.rpc.LeaseRevokeRequest(ID=42)
    assert isinstance(call.wrap(_pb.rpc.LeaseRevokeResponse()), LeaseRevokeResponse)


def test_reads_are_repeatable() -> None:
    ttl = calls.time_to_live(3, 1)  # type: ignore[arg-type]  # any truthy value is True
    assert (ttl.service, ttl.method, ttl.repeatable) == ("lease", "LeaseTimeToLive", True)
    assert ttl.request == _pb.rpc.LeaseTimeToLiveRequest(ID=3, keys=True)
    view = ttl.wrap(_pb.rpc.LeaseTimeToLiveResponse(ID=3, TTL=-1))
    assert isinstance(view, LeaseTimeToLiveResponse)
    assert view.ttl == -1
    listed = calls.leases()
    assert (listed.service, listed.method, listed.repeatable) == ("lease", "LeaseLeases", True)
    assert listed.request == _pb.rpc.LeaseLeasesRequest()
    assert isinstance(listed.wrap(_pb.rpc.LeaseLeasesResponse()), LeaseLeasesResponse)


@pytest.mark.parametrize(
    ("describe", "error", "message"),
    [
        (lambda: calls.grant(-1, 0), InvalidArgumentError, "ttl"),
        (lambda: calls.grant(10, INT64_MAX + 1), InvalidArgumentError, "id"),
        (lambda: calls.grant("10", 0), ArgumentTypeError, "ttl"),  # type: ignore[arg-type]
        (lambda: calls.revoke(-5), InvalidArgumentError, "id"),
        (lambda: calls.revoke("7"), ArgumentTypeError, "id"),  # type: ignore[arg-type]
        (lambda: calls.time_to_live(INT64_MAX + 1, False), InvalidArgumentError, "id"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(
    describe: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        describe()  # type: ignore[operator]
