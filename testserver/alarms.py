"""The alarms of the reference server, as etcd's ``v3alarm.AlarmStore``.

An alarm is a (member ID, kind) pair; raising one twice keeps one. Only the Maintenance
service's ``Alarm`` RPC raises and clears them here: the reference server never raises
``NOSPACE`` or ``CORRUPT`` by itself. Alarms live as long as the server's state, restarts
included (etcd keeps them in its backend).
"""

from __future__ import annotations

from etcd3py import _pb

__all__ = ["AlarmStore"]

#: (member ID, alarm kind) as etcd's ``pb.AlarmMember``.
Alarm = tuple[int, int]


class AlarmStore:
    """The raised alarms, listed in a stable order (by kind, then member)."""

    def __init__(self) -> None:
        self._raised: set[Alarm] = set()

    def activate(self, member_id: int, kind: int) -> Alarm | None:
        """Raise an alarm (``NONE`` raises nothing).

        Args:
            member_id: the member the alarm is on.
            kind: the ``AlarmType`` value.

        Returns:
            The alarm, raised now or before; None for ``NONE``.
        """
        if kind == _pb.rpc.NONE:
            return None
        self._raised.add((member_id, kind))
        return (member_id, kind)

    def deactivate(self, member_id: int, kind: int) -> Alarm | None:
        """Clear one alarm.

        Args:
            member_id: the member the alarm is on.
            kind: the ``AlarmType`` value.

        Returns:
            The alarm cleared, or None when it was not raised.
        """
        alarm = (member_id, kind)
        if alarm not in self._raised:
            return None
        self._raised.remove(alarm)
        return alarm

    def get(self, kind: int = _pb.rpc.NONE) -> list[Alarm]:
        """List the raised alarms of one kind (``NONE``: every kind).

        Args:
            kind: the ``AlarmType`` value to list, or ``NONE``.

        Returns:
            The alarms, sorted by kind then member.
        """
        found = (a for a in self._raised if kind == _pb.rpc.NONE or a[1] == kind)
        return sorted(found, key=lambda a: (a[1], a[0]))

    def status_errors(self) -> list[str]:
        """The alarms as etcd 3.5 lists them in ``StatusResponse.errors``."""
        return [f"memberID:{m} alarm:{_pb.rpc.AlarmType.Name(k)} " for m, k in self.get()]  # type: ignore[arg-type]
