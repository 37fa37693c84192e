"""Retry predicates (clientv3 retry.go) and the tenacity policy, without a server."""

from __future__ import annotations

import re
import time

import pytest

from etcd3py import errors
from etcd3py._retry import call_with_retry, is_safe_retry_immutable, is_safe_retry_mutable
from etcd3py.config import RetryPolicy
from etcd3py.errors import DeadlineExceededError

NOT_SENT = errors.UnavailableError(
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
    "Failed to connect to remote host: Connection refused"
)
SENT = errors.UnavailableError("Socket closed")
FAST = RetryPolicy(max_attempts=5, initial_backoff=0.001, max_backoff=0.002, jitter=0.0)


@pytest.mark.parametrize(
    ("exc", "immutable", "mutable"),
    [
        (NOT_SENT, True, True),
        (SENT, True, False),
        (errors.UnavailableError("connection reset by peer"), True, False),
        # refused by etcd's interceptors before the handler ran: nothing was applied
        (errors.NoLeaderError(), True, True),
        (errors.NotCapableError(), True, True),
        (errors.NotSupportedForLearnerError(), True, True),
        (errors.UnhealthyError(), True, True),
        # answered after the request may have been proposed: a write must not repeat
        (errors.LeaderChangedError(), True, False),
        (errors.StoppedError(), True, False),
        (errors.TimeoutDueToLeaderFailError(), True, False),
        (errors.TimeoutDueToConnectionLostError(), True, False),
        (errors.RequestTimedOutError(), True, False),
        (errors.UnavailableError("there is no address available"), True, True),
        # round_robin's wording when no subchannel is READY: the call never left
        (
            errors.UnavailableError(
                "connections to all backends failing; last error: UNAVAILABLE: "
                "ipv4:127.0.0.1:38303: Socket closed"
            ),
            True,
            True,
        ),
        (errors.CompactedError(), False, False),
        (errors.DeadlineExceededError("Deadline Exceeded"), False, False),
        (errors.InvalidArgumentError("x"), False, False),
        (errors.CanceledError("x"), False, False),
        (RuntimeError("not an etcd error"), False, False),
    ],
)
def test_predicates(exc: BaseException, immutable: bool, mutable: bool) -> None:
    assert is_safe_retry_immutable(exc) is immutable
    assert is_safe_retry_mutable(exc) is mutable


class Script:
    """An attempt function that fails with the scripted errors, then returns 'ok'."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls: list[float | None] = []

    def __call__(self, remaining: float | None) -> str:
        self.calls.append(remaining)
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def test_read_is_retried_on_any_unavailable() -> None:
    script = Script(SENT, errors.NoLeaderError(), NOT_SENT)
    assert call_with_retry(FAST, script, repeatable=True, deadline=None) == "ok"
    assert len(script.calls) == 4


def test_write_is_retried_only_when_never_sent() -> None:
    script = Script(NOT_SENT, NOT_SENT)
    assert call_with_retry(FAST, script, repeatable=False, deadline=None) == "ok"
    assert len(script.calls) == 3
    script = Script(NOT_SENT, SENT)
    with pytest.raises(errors.UnavailableError, match="Socket closed"):
        call_with_retry(FAST, script, repeatable=False, deadline=None)
    assert len(script.calls) == 2


def test_write_refused_before_proposal_is_retried() -> None:
    script = Script(errors.UnhealthyError(), errors.NoLeaderError(), errors.NotCapableError())
    assert call_with_retry(FAST, script, repeatable=False, deadline=None) == "ok"
    assert len(script.calls) == 4
    script = Script(errors.NoLeaderError(), errors.LeaderChangedError())
    with pytest.raises(errors.LeaderChangedError):
        call_with_retry(FAST, script, repeatable=False, deadline=None)
    assert len(script.calls) == 2


def test_non_retryable_errors_raise_at_once() -> None:
    script = Script(errors.CompactedError())
    with pytest.raises(errors.CompactedError):
        call_with_retry(FAST, script, repeatable=True, deadline=None)
    assert len(script.calls) == 1


def test_attempts_are_bounded() -> None:
    script = Script(*[SENT] * 10)
    with pytest.raises(errors.UnavailableError):
        call_with_retry(FAST, script, repeatable=True, deadline=None)
    assert len(script.calls) == FAST.max_attempts
    one = Script(SENT)
    with pytest.raises(errors.UnavailableError):
        call_with_retry(RetryPolicy(max_attempts=1), one, repeatable=True, deadline=None)
    assert len(one.calls) == 1


def test_deadline_bounds_retries_and_attempts_get_the_remaining_time() -> None:
    slow = RetryPolicy(max_attempts=1000, initial_backoff=0.05, max_backoff=0.05, jitter=0.0)
    script = Script(*[SENT] * 1000)
    start = time.monotonic()
    with pytest.raises(DeadlineExceededError) as caught:
        call_with_retry(slow, script, repeatable=True, deadline=start + 0.3)
    assert 1 < len(script.calls) < 1000
    remaining = [r for r in script.calls if r is not None]
    assert remaining == sorted(remaining, reverse=True)
    assert all(r <= 0.3 for r in remaining)
    assert caught.value.__cause__ is SENT  # every scripted failure is this one object


def test_an_unreachable_cluster_fails_at_the_deadline_not_before() -> None:
    # backoff waits longer than the deadline: the last retry is made at the deadline,
    # and the error is DeadlineExceededError caused by the last connection error
    slow = RetryPolicy(max_attempts=100, initial_backoff=5.0, max_backoff=5.0, jitter=0.0)
    script = Script(*[NOT_SENT] * 100)
    start = time.monotonic()
    with pytest.raises(DeadlineExceededError, match=re.escape("127.0.0.1:2379")) as caught:
        call_with_retry(
            slow, script, repeatable=False, deadline=start + 0.4, endpoints=lambda: "127.0.0.1:2379"
        )
    elapsed = time.monotonic() - start
    assert elapsed >= 0.4
    assert elapsed < 3.0
    assert caught.value.__cause__ is NOT_SENT
    assert "Connection refused" in str(caught.value)


def test_without_a_deadline_max_elapsed_bounds_the_retries() -> None:
    policy = RetryPolicy(
        max_attempts=10_000, initial_backoff=0.01, max_backoff=0.02, jitter=0.0, max_elapsed=0.3
    )
    script = Script(*[SENT] * 10_000)
    with pytest.raises(DeadlineExceededError, match="max_elapsed") as caught:
        call_with_retry(policy, script, repeatable=True, deadline=None)
    assert caught.value.__cause__ is SENT


def test_require_leader_makes_no_leader_final() -> None:
    script = Script(errors.NoLeaderError(), errors.NoLeaderError())
    with pytest.raises(errors.NoLeaderError):
        call_with_retry(FAST, script, repeatable=True, deadline=None, require_leader=True)
    assert len(script.calls) == 1
    # without it, "no leader" is retried (e.g. while a new leader is elected)
    script = Script(errors.NoLeaderError())
    assert call_with_retry(FAST, script, repeatable=True, deadline=None) == "ok"


def test_a_call_whose_deadline_passed_is_not_sent() -> None:
    sent: list[float | None] = []

    def attempt(remaining: float | None) -> str:
        sent.append(remaining)
        return "sent"

    with pytest.raises(DeadlineExceededError):
        call_with_retry(RetryPolicy(), attempt, repeatable=True, deadline=time.monotonic() - 1)
    assert sent == []
    assert call_with_retry(RetryPolicy(), attempt, repeatable=True, deadline=None) == "sent"
