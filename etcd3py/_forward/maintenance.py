"""The ``Client`` methods that forward to ``client.maintenance``."""

from __future__ import annotations

from typing import BinaryIO

from etcd3py.maintenance import (
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    HashKVResponse,
    Maintenance,
    MoveLeaderResponse,
    StatusResponse,
)

__all__ = ["MaintenanceMethods"]


class MaintenanceMethods:
    """The Maintenance methods of a client.

    Each method looks ``self.maintenance`` up on every call, so replacing
    ``client.maintenance`` changes what it does, as in clientv3.
    """

    maintenance: Maintenance

    def status(self, endpoint: str, *, timeout: float | None = None) -> StatusResponse:
        """Ask one member for its status: ``client.maintenance.status``.

        Args:
            endpoint: ``host:port`` of the member.
            timeout: seconds for the call.

        Returns:
            The member's status.
        """
        return self.maintenance.status(endpoint, timeout=timeout)

    def alarm_list(self, *, timeout: float | None = None) -> AlarmResponse:
        """List the raised alarms: ``client.maintenance.alarm_list``.

        Args:
            timeout: seconds for the call.

        Returns:
            The alarms.
        """
        return self.maintenance.alarm_list(timeout=timeout)

    def alarm_disarm(
        self, member_id: int, alarm: AlarmType, *, timeout: float | None = None
    ) -> AlarmResponse:
        """Clear an alarm: ``client.maintenance.alarm_disarm``.

        Args:
            member_id: the member whose alarm to clear.
            alarm: the kind of alarm.
            timeout: seconds for the call.

        Returns:
            The alarms cleared.
        """
        return self.maintenance.alarm_disarm(member_id, alarm, timeout=timeout)

    def defragment(self, endpoint: str, *, timeout: float | None = None) -> DefragmentResponse:
        """Defragment one member's database: ``client.maintenance.defragment``.

        Args:
            endpoint: ``host:port`` of the member.
            timeout: seconds for the call.

        Returns:
            The (empty) answer.
        """
        return self.maintenance.defragment(endpoint, timeout=timeout)

    def hash_kv(
        self, endpoint: str, rev: int = 0, *, timeout: float | None = None
    ) -> HashKVResponse:
        """Hash one member's key space: ``client.maintenance.hash_kv``.

        Args:
            endpoint: ``host:port`` of the member.
            rev: the revision to hash up to (0: the current one).
            timeout: seconds for the call.

        Returns:
            The hash.
        """
        return self.maintenance.hash_kv(endpoint, rev, timeout=timeout)

    def snapshot(self, file_obj: BinaryIO, *, timeout: float | None = None) -> int:
        """Stream a database snapshot into a file: ``client.maintenance.snapshot``.

        Args:
            file_obj: a binary file object open for writing.
            timeout: seconds for the whole transfer.

        Returns:
            The number of bytes written.
        """
        return self.maintenance.snapshot(file_obj, timeout=timeout)

    def move_leader(
        self, transferee_id: int, *, timeout: float | None = None
    ) -> MoveLeaderResponse:
        """Hand the leadership to another member: ``client.maintenance.move_leader``.

        Args:
            transferee_id: the member ID of the new leader.
            timeout: seconds for each call.

        Returns:
            The answer, once the transfer is done.
        """
        return self.maintenance.move_leader(transferee_id, timeout=timeout)
