"""The alarms of the reference server, as etcd's ``v3alarm.AlarmStore``.

An alarm is a (member ID, kind) pair; raising one twice keeps one. Only the Maintenance
service's ``Alarm`` RPC raises and clears them here: the reference server never raises
``NOSPACE`` or ``CORRUPT`` by itself. Alarms live as long as the server's state, restarts
included (etcd keeps them in its backend).

:meth:`AlarmStore.check_apply` is etcd 3.5's applier switch (``apply.go`` ``applyAlarm``),
as probed on etcd 3.5.1: raising the first alarm of a kind replaces the applier
(``NOSPACE``: capped, refusing puts, txns with a put and lease grants with
``NoSpaceError``; ``CORRUPT``: refusing every write with ``CorruptError``); raising another
of a kind already raised changes nothing; clearing the last alarm of a kind restores the
plain applier, even while alarms of the other kind are still raised. Reads and read-only
txns are never refused. It is for the KV and Lease services to call before they apply.
"""

from __future__ import annotations

from typing import Literal

from etcd3py import _pb
from etcd3py.errors import CorruptError, NoSpaceError

__all__ = ["AlarmStore", "WriteKind", "txn_write_kind"]

#: (member ID, alarm kind) as etcd's ``pb.AlarmMember``.
Alarm = tuple[int, int]

#: A write as etcd's appliers tell them apart (``txn_put``: a txn with a put in a branch).
WriteKind = Literal["put", "delete", "txn", "txn_put", "compact", "lease_grant", "lease_revoke"]

#: The writes the capped (``NOSPACE``) applier refuses.
_CAPPED_REFUSES = frozenset({"put", "txn_put", "lease_grant"})


class AlarmStore:
    """The raised alarms, listed in a stable order (by kind, then member)."""

    def __init__(self) -> None:
        self._raised: set[Alarm] = set()
        self._applier: int = _pb.rpc.NONE  # the kind whose applier refuses writes (NONE: none)

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
        if not self.get(kind):
            self._applier = kind
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
        if not self.get(kind):
            self._applier = _pb.rpc.NONE
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
        """The alarms as etcd 3.5 lists them in ``StatusResponse.errors``: each alarm's protobuf
        text form, whose zero fields are left out (an alarm of member 0 is ``alarm:NOSPACE ``).
        """
        return [
            (f"memberID:{m} " if m else "") + f"alarm:{_pb.rpc.AlarmType.Name(k)} "  # type: ignore[arg-type]
            for m, k in self.get()
        ]

    def check_apply(self, write: WriteKind) -> None:
        """Refuse a write as etcd's wrapped applier would, given the alarms raised.

        Args:
            write: what the request writes.

        Raises:
            NoSpaceError: the capped applier refuses it (puts, txns with a put, grants).
            CorruptError: the corrupt applier refuses it (every write).
        """
        if self._applier == _pb.rpc.CORRUPT:
            raise CorruptError()
        if self._applier == _pb.rpc.NOSPACE and write in _CAPPED_REFUSES:
            raise NoSpaceError()


def txn_write_kind(request: _pb.rpc.TxnRequest) -> WriteKind:
    """Classify a (not read-only) txn as etcd's capped applier does.

    Only puts at the top of either branch count: etcd 3.5.1 lets a put nested in an inner
    txn through under ``NOSPACE`` (probed).

    Args:
        request: the txn.

    Returns:
        ``"txn_put"`` when a branch holds a put, else ``"txn"``.
    """
    for op in (*request.success, *request.failure):
        if op.WhichOneof("request") == "request_put":
            return "txn_put"
    return "txn"
