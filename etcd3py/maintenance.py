"""The Maintenance concern: status, alarms, defragment, hash, snapshot, leader moves, downgrade.

Mirrors clientv3 ``maintenance.go``. Owns :class:`Maintenance`; the response views and enums
(:mod:`etcd3py._maintenance_views`) are re-exported here. ``status``, ``defragment``,
``hash_kv`` and ``snapshot`` ask one named member over a channel of its own (same
credentials), as clientv3 does; ``move_leader`` finds the leader among the client's
endpoints with ``status`` and asks it; alarms and downgrades use the client's channel.
Each unary RPC is described once in :mod:`etcd3py._calls.maintenance` (request, argument
checks, retry class, view); the calls of several steps (the disarm of every alarm, the
leader search, the status then ``Snapshot`` stream) are flows of
:mod:`etcd3py._maintenance_flows`, driven here by :func:`etcd3py._flow.drive` and awaited by
the asyncio face. Saving and checking a snapshot's SHA-256 trailer is :mod:`etcd3py._snapshot`'s.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from etcd3py import _maintenance_flows as flows
from etcd3py._calls import maintenance as calls
from etcd3py._flow import drive
from etcd3py._maintenance_flows import SnapshotDest as SnapshotDest
from etcd3py._maintenance_views import (
    AlarmMember,
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    DowngradeAction,
    DowngradeResponse,
    HashKVResponse,
    MoveLeaderResponse,
    SnapshotResponse,
    StatusResponse,
)
from etcd3py._snapshot import verify_bytes, verify_file
from etcd3py._transport import check_timeout
from etcd3py.errors import ArgumentTypeError

if TYPE_CHECKING:
    from etcd3py._transport import Transport
    from etcd3py.context import Context

__all__ = [
    "AlarmMember",
    "AlarmResponse",
    "AlarmType",
    "DefragmentResponse",
    "DowngradeAction",
    "DowngradeResponse",
    "HashKVResponse",
    "Maintenance",
    "MoveLeaderResponse",
    "SnapshotResponse",
    "StatusResponse",
    "verify_snapshot",
]


def verify_snapshot(snapshot: bytes | str | os.PathLike[str]) -> int:
    """Check a saved snapshot's SHA-256 trailer, as ``etcdutl snapshot restore`` does.

    A snapshot is etcd's database followed by the 32-byte SHA-256 of it; this checks that
    the trailer is there and matches. :meth:`Maintenance.snapshot` already checks what it
    saves; use this on a file that travelled since.

    Args:
        snapshot: the snapshot's bytes, or the path of a snapshot file.

    Returns:
        The snapshot's size in bytes, trailer included.

    Raises:
        SnapshotChecksumError: the trailer is missing or does not match the data.
        ArgumentTypeError: ``snapshot`` is neither bytes nor a path.
        OSError: the file cannot be read.
    """
    if isinstance(snapshot, (bytes, bytearray, memoryview)):
        verify_bytes(bytes(snapshot))
        return len(snapshot)
    if isinstance(snapshot, (str, os.PathLike)):
        return verify_file(snapshot)
    raise ArgumentTypeError(f"snapshot must be bytes or a path, not {type(snapshot).__name__}")


class Maintenance:
    """Member maintenance, as clientv3's ``Maintenance`` interface.

    Every call takes ``timeout=`` (seconds, retries included) and ``ctx=`` (a
    :class:`~etcd3py.Context` whose deadline, cancellation and metadata apply); the nearer
    of the two deadlines bounds the call.
    """

    def __init__(self, transport: Transport) -> None:
        """Serve maintenance calls through ``transport``.

        Args:
            transport: the client's transport.
        """
        self._transport = transport

    def status(
        self, endpoint: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> StatusResponse:
        """Ask the member at ``endpoint`` for its status.

        Args:
            endpoint: ``host:port`` (or a URL) of the member; need not be one of the client's.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member's status (``errors`` lists its alarms).

        Raises:
            UnavailableError: the member cannot be reached.
        """
        check_timeout(timeout)
        return self._transport.run_at(endpoint, calls.status(), timeout=timeout, ctx=ctx)

    def alarm_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AlarmResponse:
        """List the alarms raised in the cluster (every member, every kind).

        Args:
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The alarms (none when the cluster is healthy).
        """
        check_timeout(timeout)
        return self._transport.run(calls.alarm_list(), timeout=timeout, ctx=ctx)

    def alarm_disarm(
        self,
        member_id: int = 0,
        alarm: AlarmType = AlarmType.NONE,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> AlarmResponse:
        """Clear one alarm, or every alarm raised.

        With the defaults (member 0, ``AlarmType.NONE``) it lists the alarms and clears each
        in turn, as clientv3's ``AlarmDisarm`` does with an empty ``AlarmMember`` (etcd
        itself clears nothing for member 0). Clearing an alarm that is not raised is not an
        error: nothing is cleared.

        Args:
            member_id: the member whose alarm to clear (0 with ``NONE``: every alarm).
            alarm: the kind of alarm to clear.
            timeout: seconds for the whole call (the list and every disarm), retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The alarms cleared; its header is the last answer's.

        Raises:
            ArgumentTypeError: ``member_id`` is not an int or ``alarm`` not an AlarmType.
            InvalidArgumentError: ``member_id`` does not fit a member ID (uint64).
        """
        plan = flows.alarm_disarm(member_id, alarm)
        return drive(plan, self._transport, timeout=timeout, ctx=ctx)

    def defragment(
        self, endpoint: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> DefragmentResponse:
        """Defragment the backend database of the member at ``endpoint``.

        The member blocks its reads and writes while it rewrites its database.

        Args:
            endpoint: ``host:port`` (or a URL) of the member.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The (empty) answer.

        Raises:
            UnavailableError: the member cannot be reached.
        """
        check_timeout(timeout)
        return self._transport.run_at(endpoint, calls.defragment(), timeout=timeout, ctx=ctx)

    def hash_kv(
        self,
        endpoint: str,
        rev: int = 0,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> HashKVResponse:
        """Hash the key space of the member at ``endpoint`` up to revision ``rev``.

        Args:
            endpoint: ``host:port`` (or a URL) of the member.
            rev: the revision to hash up to (0: the member's current revision).
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The hash, with the revision hashed up to in its header.

        Raises:
            ArgumentTypeError: ``rev`` is not an int.
            InvalidArgumentError: ``rev`` is negative or past int64.
            CompactedError: ``rev`` was compacted.
            FutureRevisionError: ``rev`` is past the member's revision.
        """
        check_timeout(timeout)
        return self._transport.run_at(endpoint, calls.hash_kv(rev), timeout=timeout, ctx=ctx)

    def snapshot(
        self,
        dest: SnapshotDest,
        *,
        endpoint: str | None = None,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> SnapshotResponse:
        """Save a snapshot of one member's backend database, checked, to a path or a file.

        The bytes are etcd's bbolt database followed by the 32-byte SHA-256 of it, as
        ``etcdctl snapshot save`` writes (restore with ``etcdutl snapshot restore``). The
        trailer is checked as ``etcdutl`` checks it. Saved to a path, the snapshot goes to a
        private temporary file beside it, renamed to the path only once complete and
        checked: on any error the path is left as it was. Saved to a file object, the bytes
        are written as they arrive (on an error the file holds the part received). Not
        retried: a broken stream raises. Like ``etcdctl``, it reads one member: the client's
        endpoint when it has exactly one, else the one named by ``endpoint``.

        Example:
            >>> resp = client.snapshot("/backups/etcd.db")   # doctest: +SKIP
            >>> resp.version, resp.size                      # doctest: +SKIP
            ('3.5.1', 20512)

        Args:
            dest: a path (``str`` or ``os.PathLike``) to create or replace, or a binary file
                object open for writing.
            endpoint: ``host:port`` (or a URL) of the member to snapshot.
            timeout: seconds for the whole transfer.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member's header and version, and the bytes saved.

        Raises:
            InvalidArgumentError: no ``endpoint`` and the client has several.
            SnapshotChecksumError: the snapshot's SHA-256 trailer is missing or wrong.
            UnimplementedError: the server does not serve snapshots.
            DeadlineExceededError: the timeout or the context's deadline passed.
            CanceledError: the context was cancelled.
        """
        plan = flows.snapshot(dest, endpoint, self._transport.endpoints)
        return drive(plan, self._transport, timeout=timeout, ctx=ctx)

    def move_leader(
        self, transferee_id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MoveLeaderResponse:
        """Hand the leadership to member ``transferee_id``.

        The request goes to the current leader, found by asking each of the client's
        endpoints for its status.

        Args:
            transferee_id: the member ID of the new leader (a voter).
            timeout: seconds for the whole call (the status calls and the move).
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The answer, once the transfer is done.

        Raises:
            ArgumentTypeError: ``transferee_id`` is not an int.
            InvalidArgumentError: ``transferee_id`` does not fit a member ID (uint64).
            BadLeaderTransfereeError: no voting member has that ID.
            NoLeaderError: no endpoint of the client is the leader.
        """
        plan = flows.move_leader(transferee_id, self._transport.endpoints)
        return drive(plan, self._transport, timeout=timeout, ctx=ctx)

    def downgrade(
        self,
        action: DowngradeAction,
        version: str = "",
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> DowngradeResponse:
        """Validate, enable or cancel a cluster downgrade: clientv3's ``Downgrade``.

        ``version`` is the target as ``major.minor`` or ``major.minor.patch``; etcd 3.5
        accepts only the minor version below the cluster's (``3.4`` for a 3.5 cluster).
        Only ``VALIDATE`` is retried (it changes nothing). etcd 3.4 has no downgrade
        (``UnimplementedError``).

        Args:
            action: :class:`DowngradeAction` ``VALIDATE``, ``ENABLE`` or ``CANCEL``.
            version: the target version (ignored by ``CANCEL``).
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The cluster version.

        Raises:
            ArgumentTypeError: ``action`` is not a DowngradeAction or ``version`` not a str.
            WrongDowngradeVersionFormatError: ``version`` is not a version.
            InvalidDowngradeTargetVersionError: the cluster cannot go to that version.
            DowngradeInProcessError: a downgrade is already enabled.
            NoInflightDowngradeError: ``CANCEL`` with no downgrade enabled.
            UnimplementedError: the server has no downgrade (etcd 3.4).
        """
        check_timeout(timeout)
        return self._transport.run(calls.downgrade(action, version), timeout=timeout, ctx=ctx)
