"""The stream drivers' reconnect policy (sans-IO): when to wait, refresh the token, or end."""

from __future__ import annotations

from etcd3py._reconnect import keep_alive_policy, watch_policy
from etcd3py.errors import (
    InternalError,
    InvalidAuthTokenError,
    NoLeaderError,
    PermissionDeniedError,
    UnavailableError,
)


def test_a_watch_reconnects_on_unavailable_and_internal_only() -> None:
    policy = watch_policy()
    assert not policy.failed(UnavailableError("x"), healthy=True).end
    assert not policy.failed(InternalError("x"), healthy=True).end
    assert policy.failed(PermissionDeniedError("x"), healthy=True).end


def test_a_watch_ends_when_no_new_token_comes() -> None:
    policy = watch_policy()
    step = policy.failed(InvalidAuthTokenError("x"), healthy=True)
    assert step.refresh and not step.end
    assert policy.refreshed(False).end
    assert not policy.refreshed(True).end


def test_a_keep_alive_retries_everything_but_no_leader_when_required() -> None:
    assert not keep_alive_policy(False).failed(NoLeaderError("x"), healthy=False).end
    assert not keep_alive_policy(False).failed(PermissionDeniedError("x"), healthy=False).end
    assert keep_alive_policy(True).failed(NoLeaderError("x"), healthy=False).end
    policy = keep_alive_policy(False)
    assert policy.failed(InvalidAuthTokenError("x"), healthy=True).refresh
    assert not policy.refreshed(False).end  # the leases' expiry bounds it


def test_failures_in_a_row_grow_the_wait_and_an_answer_resets_it() -> None:
    policy = keep_alive_policy(require_leader=False)
    for _ in range(8):
        policy.failed(UnavailableError("x"), healthy=False)
    assert policy.attempt == 8
    long_wait = policy.failed(UnavailableError("x"), healthy=False).wait
    assert 0.5 <= long_wait <= 1.0
    policy.failed(UnavailableError("x"), healthy=True)
    assert policy.attempt == 1


def test_a_watch_reopens_as_clientv3_growing_25_percent_to_100_ms() -> None:
    policy = watch_policy()
    first = policy.failed(UnavailableError("x"), healthy=False).wait
    assert 0.01 <= first <= 0.03
    waits = [policy.failed(UnavailableError("x"), healthy=False).wait for _ in range(30)]
    assert all(0.1 <= wait <= 0.12 for wait in waits[-15:])  # capped, with its jitter
    assert policy.failed(UnavailableError("x"), healthy=True).wait <= 0.03  # an answer resets


def test_the_token_a_call_opened_with_is_the_one_a_refresh_replaces() -> None:
    policy = keep_alive_policy(require_leader=False)
    assert policy.token is None
    policy.opened((("hasleader", "true"), ("token", "t.1")))
    assert policy.token == "t.1"  # passed as refresh_token's stale: a newer one is kept
    policy.opened(())
    assert policy.token is None  # opened without one: the refresh replaces the current
