"""Endpoint discovery: the member list turned into endpoints, and the auto-sync thread.

Owns :func:`endpoints_from_members` (pure: which client URLs of a ``MemberList`` answer a
client may use, as clientv3's ``Sync`` picks them) and :class:`AutoSync`, the daemon thread
that calls a sync function every ``interval`` seconds (clientv3 ``autoSync``). The
transport swaps the channel (:mod:`etcd3py._transport`); nothing here does I/O itself.

Thread: ``etcd3py-autosync`` (daemon), one per client with ``auto_sync_interval`` set. It
waits in short slices, so :meth:`AutoSync.stop` (called by ``client.close()``) returns within
a time limit; a failed sync is logged and tried again at the next interval.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from etcd3py.config import Endpoint, parse_endpoint
from etcd3py.errors import EtcdError, InvalidArgumentError, UnavailableError

_log = logging.getLogger(__name__)

_WAKE = 0.2  # seconds the thread sleeps at most between two looks at its stop flag
_JOIN_LIMIT = 5.0  # seconds stop() waits for a sync in progress to end


class MemberLike(Protocol):
    """What :func:`endpoints_from_members` reads of a member."""

    @property
    def name(self) -> str: ...  # pragma: no cover - protocol

    @property
    def client_urls(self) -> list[str]: ...  # pragma: no cover - protocol

    @property
    def is_learner(self) -> bool: ...  # pragma: no cover - protocol


def endpoints_from_members(members: Iterable[MemberLike], *, secure: bool) -> tuple[Endpoint, ...]:
    """Return the endpoints a client should use for ``members``.

    Learners (which serve no KV or watch) and members not started yet (no client URL) are
    skipped, as clientv3's ``Sync`` does. A URL whose scheme disagrees with the client's
    security (``https://`` for a plain-text client, ``http://`` for a TLS one) is skipped
    with a warning: the client keeps its credentials across a sync. Duplicates are removed,
    order kept.

    Args:
        members: the ``member_list()`` members.
        secure: whether the client uses TLS.

    Returns:
        The endpoints, possibly empty.
    """
    found: dict[tuple[str, int], Endpoint] = {}
    for member in members:
        if member.is_learner or not member.client_urls:
            continue
        for url in member.client_urls:
            try:
                endpoint = parse_endpoint(url)
            except EtcdError:
                _log.warning("etcd3py: member %s has a bad client URL %r", member.name, url)
                continue
            if endpoint.path is not None:
                continue  # a unix socket is reachable from its member's host only
            if endpoint.secure is not None and endpoint.secure != secure:
                _log.warning(
                    "etcd3py: skipping %s of member %s: the client is %s",
                    url,
                    member.name,
                    "TLS" if secure else "plain text",
                )
                continue
            key = (endpoint.host, endpoint.port)
            found.setdefault(key, Endpoint(endpoint.host, endpoint.port, secure or None))
    return tuple(found.values())


def usable_endpoints(members: Iterable[MemberLike], *, secure: bool) -> tuple[Endpoint, ...]:
    """Return :func:`endpoints_from_members`, refusing a list with none (both faces' sync).

    Args:
        members: the ``member_list()`` members.
        secure: whether the client uses TLS.

    Returns:
        The endpoints (at least one).

    Raises:
        UnavailableError: no member has a usable client URL.
    """
    found = endpoints_from_members(members, secure=secure)
    if not found:
        raise UnavailableError("etcd3py: the member list names no usable client URL")
    return found


def endpoints_changed(old: Sequence[Endpoint], new: Sequence[Endpoint]) -> bool:
    """Whether replacing ``old`` by ``new`` changes anything (both faces' ``set_endpoints``).

    Args:
        old: the endpoints in use.
        new: the endpoints asked for.

    Returns:
        ``False`` when ``new`` names the same endpoints as ``old``, in any order.

    Raises:
        InvalidArgumentError: ``new`` is empty.
    """
    if not new:
        raise InvalidArgumentError("at least one endpoint is required")
    return {(e.host, e.port, e.path) for e in new} != {(e.host, e.port, e.path) for e in old}


class SyncOutcomes:
    """What became of the auto syncs: the counts and the log, one rule for both faces.

    Attributes:
        runs: syncs that succeeded.
        failures: syncs that failed (logged, then tried again at the next interval).
    """

    def __init__(self) -> None:
        self.failures = 0
        self.runs = 0

    @contextlib.contextmanager
    def recorded(self, stopping: Callable[[], bool] = lambda: False) -> Iterator[None]:
        """Count the sync run inside; log and swallow its failure (never a cancellation).

        Args:
            stopping: whether the loop is being stopped (its failure is then not logged).
        """
        try:
            yield
        except EtcdError as exc:
            self.failures += 1
            if not stopping():
                _log.info("etcd3py: auto sync of endpoints failed: %s", exc)
        except Exception:  # a bug must not end the loop silently
            self.failures += 1
            _log.exception("etcd3py: auto sync of endpoints failed")
        else:
            self.runs += 1


class AutoSync(SyncOutcomes):
    """Calls ``sync()`` every ``interval`` seconds on a daemon thread until stopped.

    Args:
        sync: the function to call (``client.sync_endpoints``); its errors are logged.
        interval: seconds between two syncs (the first one ``interval`` after start).
    """

    def __init__(self, sync: Callable[[], object], interval: float) -> None:
        super().__init__()
        self._sync = sync
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="etcd3py-autosync", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def _run(self) -> None:
        next_at = time.monotonic() + self._interval
        while not self._stop.is_set():
            wait = next_at - time.monotonic()
            if wait > 0:
                self._stop.wait(min(wait, _WAKE))
                continue
            with self.recorded(self._stop.is_set):
                self._sync()
            next_at = time.monotonic() + self._interval

    def stop(self) -> None:
        """Stop the thread and join it with a time limit (never from the thread itself)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(_JOIN_LIMIT)
            if self._thread.is_alive():
                _log.warning("etcd3py: thread %s did not end in time", self._thread.name)
