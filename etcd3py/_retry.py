"""Which failed call may be repeated, and the tenacity policy that repeats it.

Mirrors clientv3 ``retry.go``: a read-only ("repeatable") RPC is retried on any
``UNAVAILABLE`` (``isSafeRetryImmutableRPC``); a mutating one (put, delete, txn, compact...)
only when the failure shows the request never left the client (``isSafeRetryMutableRPC``:
no connection was ever made) or that etcd refused it before proposing it (no leader under
``require_leader``, an unhealthy cluster for a membership change...), never once the server
may have applied it. Every retry waits
an exponential backoff with jitter and stops at the call's deadline. No gRPC calls here: the
transport passes the attempt in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import tenacity

from etcd3py.config import RetryPolicy
from etcd3py.errors import (
    DeadlineExceededError,
    EtcdError,
    NoLeaderError,
    NotCapableError,
    NotSupportedForLearnerError,
    UnavailableError,
    UnhealthyError,
)

_T = TypeVar("_T")

# gRPC's and etcd's wording for "no connection was ever established": the request never left.
_NOT_SENT_MARKERS = (
    "failed to connect to all addresses",  # pick_first
    "connections to all backends failing",  # round_robin (grpc >= 1.5x): no READY subchannel
    "connection refused",
    "failed to connect",
    "there is no address available",
    "there is no connection available",
    "dns resolution failed",
    "name resolution failure",
)

# etcd errors answered before anything was proposed to raft, so a mutating call may be sent
# again: from the gRPC interceptors (v3rpc interceptor.go) "no leader" (a require_leader call
# on a member without a leader; no mutating RPC returns it otherwise), "not capable", "rpc
# not supported for learner"; and "unhealthy cluster", which only the membership checks
# return (server.go mayAddMember/mayRemoveMember/mayPromoteMember: the leader has not been
# connected to every voting member for the last 5 s, e.g. just after a member restart).
_REFUSED_BEFORE_HANDLING = (
    NoLeaderError,
    NotCapableError,
    NotSupportedForLearnerError,
    UnhealthyError,
)


def is_safe_retry_immutable(exc: BaseException) -> bool:
    """Whether a failed read-only call may be retried: any ``UNAVAILABLE`` failure.

    Args:
        exc: the error the attempt raised.

    Returns:
        ``True`` to retry.
    """
    return isinstance(exc, UnavailableError)


def is_safe_retry_mutable(exc: BaseException) -> bool:
    """Whether a failed mutating call may be retried: only if it was never sent.

    Args:
        exc: the error the attempt raised.

    Returns:
        ``True`` when the failure is ``UNAVAILABLE`` before a connection was made, or an
        etcd refusal given before anything was proposed (no leader, not capable, learner,
        unhealthy cluster).
    """
    if isinstance(exc, _REFUSED_BEFORE_HANDLING):
        return True
    if not isinstance(exc, UnavailableError) or exc.etcd_message is not None:
        return False  # another etcd leaf (timed out, leader changed...): maybe applied
    details = exc.details.lower()
    return any(marker in details for marker in _NOT_SENT_MARKERS)


class _StopAt(tenacity.stop.stop_base):
    """Stop once the limit has passed."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return time.monotonic() >= self.limit


class _WaitUntil(tenacity.wait.wait_base):
    """Another wait, cut short at the limit: the last retry is made at the deadline."""

    def __init__(self, inner: tenacity.wait.wait_base, limit: float) -> None:
        self.inner = inner
        self.limit = limit

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return max(min(self.inner(retry_state), self.limit - time.monotonic()), 0.0)


def _predicate(repeatable: bool, require_leader: bool) -> Callable[[BaseException], bool]:
    base = is_safe_retry_immutable if repeatable else is_safe_retry_mutable
    if not require_leader:
        return base
    # require_leader asks to fail fast on a member without a leader, as clientv3's
    # WithRequireLeader: its "no leader" answer is final, not retried.
    return lambda exc: not isinstance(exc, NoLeaderError) and base(exc)


class RetryRun:
    """The retries of one call, without I/O: what both faces' retry loops drive.

    Holds the call's retry class, its time limit (``deadline``, or ``policy.max_elapsed``
    after the first failure), the attempts made and the last error; builds the tenacity
    arguments (stop, wait, retry, sleep) for a ``Retrying`` or an ``AsyncRetrying``, and turns
    running out of time into :class:`~etcd3py.errors.DeadlineExceededError` caused by the
    last error. A loop is then::

        try:
            return attempt(remaining(deadline))       # the fast path: nothing built
        except EtcdError as exc:
            run = RetryRun(policy, repeatable=..., deadline=...)
            if not run.retry_after(exc):
                raise
        with run.giving_up():
            for try_ in tenacity.Retrying(**run.tenacity_args(sleep)):
                with try_:
                    return attempt(run.next_attempt())
    """

    __slots__ = (
        "_endpoints",
        "_pending",
        "attempts",
        "deadline",
        "last",
        "limit",
        "policy",
        "retryable",
    )

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        repeatable: bool,
        deadline: float | None,
        require_leader: bool = False,
        endpoints: Callable[[], str] = str,
    ) -> None:
        """Describe one call's retries.

        Args:
            policy: the client's retry policy.
            repeatable: whether the RPC is read-only (see the module docstring).
            deadline: the ``time.monotonic()`` deadline of the whole call, or ``None``.
            require_leader: the call asked for a leader: a "no leader" answer is final.
            endpoints: returns the endpoints the call may reach, named in a deadline
                error (asked only then: nothing is formatted on the hot path).
        """
        self.policy = policy
        self.deadline = deadline
        self.retryable = _predicate(repeatable, require_leader)
        self.limit = 0.0
        self.attempts = 1
        self.last: EtcdError | None = None
        self._pending: EtcdError | None = None
        self._endpoints = endpoints

    def retry_after(self, first: EtcdError) -> bool:
        """Whether the first attempt's failure is retried (then the limit starts)."""
        if not self.retryable(first) or self.policy.max_attempts <= 1:
            return False
        self.limit = self.deadline or time.monotonic() + self.policy.max_elapsed
        # it counts as tenacity's attempt 1, so that the backoff comes before the retry
        self._pending = self.last = first
        return True

    def next_attempt(self) -> float | None:
        """Start the next attempt; return its seconds left (``None``: no deadline).

        Raises:
            EtcdError: the first failure, replayed as tenacity's first attempt.
            DeadlineExceededError: the limit has passed (raised by :meth:`giving_up`).
        """
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        if time.monotonic() >= self.limit:
            raise _TimeUp
        self.attempts += 1
        return remaining(self.deadline)

    def tenacity_args(self, sleep: Callable[[float], Any]) -> dict[str, Any]:
        """The keyword arguments of a ``tenacity.Retrying`` or ``AsyncRetrying``.

        Args:
            sleep: the wait between attempts (blocking, or a coroutine function), ideally
                cut short when the call's context is cancelled.

        Returns:
            ``retry``, ``stop``, ``wait``, ``sleep``, ``after`` and ``reraise``.
        """
        policy = self.policy
        # wait_exponential + wait_random rather than wait_exponential_jitter, whose
        # arguments were renamed between tenacity 8 and 9.
        backoff = tenacity.wait_exponential(
            multiplier=policy.initial_backoff, max=policy.max_backoff
        ) + tenacity.wait_random(0, policy.jitter)
        return {
            "retry": tenacity.retry_if_exception(self.retryable),
            "stop": tenacity.stop_after_attempt(policy.max_attempts) | _StopAt(self.limit),
            "wait": _WaitUntil(backoff, self.limit),
            "sleep": sleep,
            "after": self._record,
            "reraise": True,
        }

    def _record(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, EtcdError):
            self.last = error

    @contextmanager
    def giving_up(self) -> Iterator[None]:
        """Around the retry loop: running out of time becomes ``DeadlineExceededError``.

        Raises:
            DeadlineExceededError: the limit passed while the call was still failing with
                a retryable error (its ``__cause__``).
            EtcdError: a final error, as it was.
        """
        try:
            yield
        except _TimeUp:
            raise self._expired(self.last) from self.last
        except EtcdError as exc:
            if self.retryable(exc) and time.monotonic() >= self.limit:
                raise self._expired(exc) from exc
            raise

    def _expired(self, cause: BaseException | None) -> DeadlineExceededError:
        return _deadline_error(self.deadline, self.policy, self.attempts, self._endpoints, cause)


def call_with_retry(
    policy: RetryPolicy,
    attempt: Callable[[float | None], _T],
    *,
    repeatable: bool,
    deadline: float | None,
    require_leader: bool = False,
    endpoints: Callable[[], str] = str,
    sleep: Callable[[float], object] = time.sleep,
    failed: EtcdError | None = None,
) -> _T:
    """Run ``attempt(remaining_seconds)`` until it succeeds, fails for good, or time runs out.

    Time runs out at ``deadline`` or, without one, ``policy.max_elapsed`` after the first
    failure; the last retry is made at that moment (never a wait past it). A call that was
    still failing with a retryable error (an unreachable cluster...) then raises
    :class:`~etcd3py.errors.DeadlineExceededError` whose ``__cause__`` is that last error.
    (The asyncio face drives the same :class:`RetryRun` with ``AsyncRetrying``.)

    Args:
        policy: the client's retry policy.
        attempt: one try; receives the seconds left before ``deadline`` (``None``: no limit).
        repeatable: whether the RPC is read-only.
        deadline: the ``time.monotonic()`` deadline of the whole call, or ``None``.
        require_leader: the call asked for a leader: a "no leader" answer is final.
        endpoints: returns the endpoints the call may reach, named in a deadline error.
        sleep: waits between attempts; a context's ``wait`` returns early when it is
            cancelled, so the next attempt raises its ``CanceledError`` at once.
        failed: the failure of a first attempt the caller made itself (its fast path):
            the retries go on from it.

    Returns:
        What the successful attempt returned.

    Raises:
        DeadlineExceededError: time ran out while the call was being retried (or before it
            was sent).
        EtcdError: the last attempt's error, when it may not be retried or the attempts
            ran out.
    """
    if failed is None:
        try:  # the fast path: most calls succeed at once, with no retry object built
            return attempt(remaining(deadline))
        except EtcdError as exc:
            failed = exc
    run = RetryRun(
        policy,
        repeatable=repeatable,
        deadline=deadline,
        require_leader=require_leader,
        endpoints=endpoints,
    )
    if not run.retry_after(failed):
        raise failed
    with run.giving_up():
        for try_ in tenacity.Retrying(**run.tenacity_args(lambda s: _discard(sleep(s)))):
            with try_:
                return attempt(run.next_attempt())
    raise EtcdError("retry loop ended without a result")  # unreachable: reraise=True


def _discard(_: object) -> None:
    """Drop a waiter's return value (``Context.wait`` answers whether the context ended)."""


class _TimeUp(Exception):
    """The wait before an attempt reached the limit: no attempt is sent."""


def _deadline_error(
    deadline: float | None,
    policy: RetryPolicy,
    attempts: int,
    endpoints: Callable[[], str],
    cause: BaseException | None,
) -> DeadlineExceededError:
    limit = (
        "the call's deadline"
        if deadline is not None
        else (f"the retry policy's max_elapsed ({policy.max_elapsed:g} s)")
    )
    names = endpoints()
    where = f" (endpoints: {names})" if names else ""
    last = f"; last error: {cause}" if cause is not None else ""
    return DeadlineExceededError(
        f"etcd3py: {limit} passed after {attempts} attempt(s){where}{last}"
    )


def remaining(deadline: float | None) -> float | None:
    """Seconds left before ``deadline`` (``None``: no deadline).

    Raises:
        DeadlineExceededError: it has passed: nothing is sent.
    """
    if deadline is None:
        return None
    remaining = deadline - time.monotonic()
    if remaining <= 0:  # gRPC would still send a call with a zero timeout
        raise DeadlineExceededError("etcd3py: the call's deadline passed before it was sent")
    return remaining
