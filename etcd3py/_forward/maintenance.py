"""The ``Client`` methods that forward to ``client.maintenance``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcd3py.maintenance import (
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    DowngradeAction,
    DowngradeResponse,
    HashKVResponse,
    Maintenance,
    MoveLeaderResponse,
    SnapshotDest,
    SnapshotResponse,
    StatusResponse,
)

if TYPE_CHECKING:
    from etcd3py.context import Context

__all__ = ["MaintenanceMethods"]


class MaintenanceMethods:
    """The Maintenance methods of a client.

    Each method looks ``self.maintenance`` up on every call, so replacing
    ``client.maintenance`` changes what it does, as in clientv3.
    """

    maintenance: Maintenance

    def status(
        self, endpoint: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> StatusResponse:
        """Ask one member for its status: ``client.maintenance.status``.

        Args:
            endpoint: ``host:port`` of the member.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member's status.
        """
        return self.maintenance.status(endpoint, timeout=timeout, ctx=ctx)

    def alarm_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AlarmResponse:
        """List the raised alarms: ``client.maintenance.alarm_list``.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The alarms.
        """
        return self.maintenance.alarm_list(timeout=timeout, ctx=ctx)

    def alarm_disarm(
        self,
        member_id: int = 0,
        alarm: AlarmType = AlarmType.NONE,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> AlarmResponse:
        """Clear one alarm, or all of them: ``client.maintenance.alarm_disarm``.

        Args:
            member_id: the member whose alarm to clear (0 with ``NONE``: every alarm).
            alarm: the kind of alarm.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The alarms cleared.
        """
        return self.maintenance.alarm_disarm(member_id, alarm, timeout=timeout, ctx=ctx)

    def defragment(
        self, endpoint: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> DefragmentResponse:
        """Defragment one member's database: ``client.maintenance.defragment``.

        Args:
            endpoint: ``host:port`` of the member.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The (empty) answer.
        """
        return self.maintenance.defragment(endpoint, timeout=timeout, ctx=ctx)

    def hash_kv(
        self,
        endpoint: str,
        rev: int = 0,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> HashKVResponse:
        """Hash one member's key space: ``client.maintenance.hash_kv``.

        Args:
            endpoint: ``host:port`` of the member.
            rev: the revision to hash up to (0: the current one).
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The hash.
        """
        return self.maintenance.hash_kv(endpoint, rev, timeout=timeout, ctx=ctx)

    def snapshot(
        self,
        dest: SnapshotDest,
        *,
        endpoint: str | None = None,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> SnapshotResponse:
        """Save a checked snapshot to a path or a file: ``client.maintenance.snapshot``.

        Args:
            dest: a path to create or replace, or a binary file object open for writing.
            endpoint: ``host:port`` of the member (needed when the client has several).
            timeout: seconds for the whole transfer.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The member's header and version, and the bytes saved.
        """
        return self.maintenance.snapshot(dest, endpoint=endpoint, timeout=timeout, ctx=ctx)

    def move_leader(
        self, transferee_id: int, *, timeout: float | None = None, ctx: Context | None = None
    ) -> MoveLeaderResponse:
        """Hand the leadership to another member: ``client.maintenance.move_leader``.

        Args:
            transferee_id: the member ID of the new leader.
            timeout: seconds for the whole call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The answer, once the transfer is done.
        """
        return self.maintenance.move_leader(transferee_id, timeout=timeout, ctx=ctx)

    def downgrade(
        self,
        action: DowngradeAction,
        version: str = "",
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> DowngradeResponse:
        """Validate, enable or cancel a downgrade: ``client.maintenance.downgrade``.

        Args:
            action: ``DowngradeAction.VALIDATE``, ``ENABLE`` or ``CANCEL``.
            version: the target version (ignored by ``CANCEL``).
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The cluster version.
        """
        return self.maintenance.downgrade(action, version, timeout=timeout, ctx=ctx)
