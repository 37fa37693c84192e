"""When a stream driver reconnects, refreshes its token, or gives up: one sans-IO policy.

The watch and keep-alive drivers of both faces (a thread, or a task) run one gRPC stream
each, and reopen it when it breaks. What to do after a failure is decided here, once; the
driver only waits (blocking or awaited) and refreshes the token through its transport::

    step = policy.failed(error, healthy)
    if step.refresh:
        step = policy.refreshed(transport.refresh_token(who, policy.token))
    if step.end:
        ...  # end the stream's watches or keep-alives with ``error``
    else:
        ...  # wait step.wait seconds (cut short by a close), then reopen

The waits come from :func:`backoff` (tenacity's exponential wait with jitter), counted from
the last call that answered at all: a watch stream's are clientv3's (capped at 100 ms, so
watches resume as soon as a member is reachable again), a keep-alive stream's are capped at
1 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import tenacity

from etcd3py.errors import (
    EtcdError,
    InternalError,
    InvalidAuthTokenError,
    NoLeaderError,
    UnavailableError,
)

__all__ = ["Reconnect", "Step", "backoff", "keep_alive_policy", "watch_policy"]

#: A keep-alive stream's reconnect wait: exponential from 50 ms with up to 100 ms of jitter,
#: capped at 1 s.
_BACKOFF = tenacity.wait_exponential(multiplier=0.05, max=1.0) + tenacity.wait_random(0, 0.1)

#: A watch stream's reopen wait, as clientv3's (``backoffIfUnavailable`` in watch.go): 25% more
#: per failure in a row, capped at 100 ms, with up to 20 ms of jitter here. While no member is
#: reachable a reopen costs nothing (the channel fails the call at once), and once one is, the
#: watches resume within about 100 ms of the channel connecting, not at a 1 s backoff step.
_WATCH_BACKOFF = tenacity.wait_exponential(
    multiplier=0.01, exp_base=1.25, max=0.1
) + tenacity.wait_random(0, 0.02)

_Wait = tenacity.wait.wait_base


def backoff(attempt: int, waits: _Wait = _BACKOFF) -> float:
    """Return the seconds to wait before reconnect attempt ``attempt`` (1, 2, ...).

    Args:
        attempt: how many reconnects in a row failed so far, plus one.
        waits: the schedule (the keep-alive one unless told).

    Returns:
        The wait, at most 1 second.
    """
    state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
    state.attempt_number = max(attempt, 1)
    return min(float(waits(state)), 1.0)


@dataclass(frozen=True, slots=True)
class Step:
    """What a driver does after its stream failed.

    Attributes:
        end: give up: end everything the stream serves with the error.
        refresh: fetch a new auth token first, then ask :meth:`Reconnect.refreshed`.
        wait: seconds to wait before reopening (when not ending).
    """

    end: bool
    refresh: bool
    wait: float


class Reconnect:
    """One stream's reconnect state: the failures in a row, and the rule that ends it."""

    def __init__(
        self,
        ends: Callable[[EtcdError], bool],
        *,
        end_without_token: bool,
        waits: _Wait = _BACKOFF,
    ) -> None:
        """Start with no failure.

        Args:
            ends: whether an error (other than an invalid token) ends the stream.
            end_without_token: whether an invalid token the driver could not refresh ends
                the stream (a watch) or is tried again (a keep-alive, which its leases'
                expiry bounds anyway).
            waits: the reconnect waits' schedule (see :func:`backoff`).
        """
        self._ends = ends
        self._waits = waits
        self._end_without_token = end_without_token
        self._attempt = 0
        self.token: str | None = None  # the token the current call was opened with

    def opened(self, metadata: Iterable[tuple[str, str]]) -> None:
        """A call opened with ``metadata``: its token is the one a refresh replaces.

        So a stream that meets an invalid token asks for a new one only if no other
        stream (or call) replaced that token meanwhile (``refresh_token(who, policy.token)``).

        Args:
            metadata: the call's metadata.
        """
        self.token = next((value for key, value in metadata if key == "token"), None)

    @property
    def attempt(self) -> int:
        """How many reconnects in a row failed so far, plus one (0 before any failure)."""
        return self._attempt

    def failed(self, error: EtcdError, healthy: bool) -> Step:
        """Decide after a stream ended with ``error``.

        Args:
            error: the stream's failure, typed.
            healthy: whether the call answered at all (which resets the backoff).

        Returns:
            The step: refresh the token first, end, or wait and reopen.
        """
        self._attempt = 1 if healthy else self._attempt + 1
        if isinstance(error, InvalidAuthTokenError):
            return Step(end=False, refresh=True, wait=0.0)
        if self._ends(error):
            return Step(end=True, refresh=False, wait=0.0)
        return Step(end=False, refresh=False, wait=backoff(self._attempt, self._waits))

    def refreshed(self, ok: bool) -> Step:
        """Decide after the token refresh :meth:`failed` asked for.

        Args:
            ok: whether a new token is in place.

        Returns:
            End (no token, for a watch), or wait and reopen.
        """
        if not ok and self._end_without_token:
            return Step(end=True, refresh=False, wait=0.0)
        return Step(end=False, refresh=False, wait=backoff(self._attempt, self._waits))


def _watch_ends(error: EtcdError) -> bool:
    """As clientv3's ``isHaltErr``: only UNAVAILABLE and INTERNAL reconnect a watch stream."""
    return not isinstance(error, (UnavailableError, InternalError))


def watch_policy() -> Reconnect:
    """The policy of a watch stream.

    UNAVAILABLE (a lost connection, a restart, ``no leader`` with ``require_leader``) and
    INTERNAL (a broken frame) reconnect; an invalid token reconnects once a new one is in
    place; anything else ends the stream's watches.

    Returns:
        A fresh policy.
    """
    return Reconnect(_watch_ends, end_without_token=True, waits=_WATCH_BACKOFF)


def keep_alive_policy(require_leader: bool) -> Reconnect:
    """The policy of a keep-alive stream.

    Every failure reconnects (the leases' own expiry bounds how long), except ``no leader``
    on a stream that requires one: as clientv3, its keep-alives end with the error.

    Args:
        require_leader: whether the stream's metadata requires a leader.

    Returns:
        A fresh policy.
    """

    def ends(error: EtcdError) -> bool:
        return require_leader and isinstance(error, NoLeaderError)

    return Reconnect(ends, end_without_token=False)
