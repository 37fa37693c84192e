"""The maintenance response views: read-only, typed, over the protobuf messages.

Re-exported by :mod:`etcd3py.maintenance`, whose names they are; no I/O here.
"""

from __future__ import annotations

import enum

from etcd3py import _pb
from etcd3py._responses import _View
from etcd3py.models import ResponseHeader


class StatusResponse(_View[_pb.rpc.StatusResponse]):
    """One member's status.

    Attributes:
        header: the response header (``member_id`` is the member asked).
        version: the etcd version of the member.
        db_size: the size of the backend database, in bytes.
        db_size_in_use: the bytes of the database actually in use.
        leader: the member ID of the current leader (0: none known).
        raft_index: the member's raft index.
        raft_term: the member's raft term.
        raft_applied_index: the last raft index applied.
        errors: the alarm messages of the member.
        is_learner: whether the member is a learner.
    """

    @property
    def version(self) -> str:
        """The etcd version of the member."""
        return self._pb.version

    @property
    def db_size(self) -> int:
        """The size of the backend database, in bytes."""
        return self._pb.dbSize

    @property
    def db_size_in_use(self) -> int:
        """The bytes of the database in use."""
        return self._pb.dbSizeInUse

    @property
    def leader(self) -> int:
        """The member ID of the leader."""
        return self._pb.leader

    @property
    def raft_index(self) -> int:
        """The raft index."""
        return self._pb.raftIndex

    @property
    def raft_term(self) -> int:
        """The raft term."""
        return self._pb.raftTerm

    @property
    def raft_applied_index(self) -> int:
        """The last raft index applied."""
        return self._pb.raftAppliedIndex

    @property
    def errors(self) -> list[str]:
        """The member's alarm messages."""
        return list(self._pb.errors)

    @property
    def is_learner(self) -> bool:
        """Whether the member is a learner."""
        return self._pb.isLearner

    def __repr__(self) -> str:
        return (
            f"StatusResponse(version={self.version!r}, db_size={self.db_size}, "
            f"leader={self.leader:#x}, raft_index={self.raft_index}, raft_term={self.raft_term})"
        )


class AlarmType(enum.IntEnum):
    """The kind of an alarm (etcd's ``AlarmType``).

    Attributes:
        NONE: no alarm; in :meth:`Maintenance.alarm_disarm`, every kind.
        NOSPACE: the backend quota is exhausted: writes are refused.
        CORRUPT: the member's data was found inconsistent.
    """

    NONE = 0
    NOSPACE = 1
    CORRUPT = 2


class AlarmMember:
    """One raised alarm, read-only.

    Attributes:
        member_id: the member the alarm is on.
        alarm: its kind.
    """

    __slots__ = ("_pb",)

    def __init__(self, pb: _pb.rpc.AlarmMember) -> None:
        self._pb = pb

    @property
    def member_id(self) -> int:
        """The member the alarm is on."""
        return self._pb.memberID

    @property
    def alarm(self) -> AlarmType:
        """The kind of alarm."""
        return AlarmType(self._pb.alarm)

    def __repr__(self) -> str:
        return f"AlarmMember(member_id={self.member_id:#x}, alarm={self.alarm.name})"


class AlarmResponse(_View[_pb.rpc.AlarmResponse]):
    """The answer to an alarm list or disarm.

    Attributes:
        header: the response header.
        alarms: the alarms raised (listed) or cleared (disarmed).
    """

    @property
    def alarms(self) -> list[AlarmMember]:
        """The alarms."""
        return [AlarmMember(a) for a in self._pb.alarms]

    def __repr__(self) -> str:
        return f"AlarmResponse(alarms={self.alarms!r})"


class DefragmentResponse(_View[_pb.rpc.DefragmentResponse]):
    """The answer to a defragment (etcd 3.5.1 sends an empty header).

    Attributes:
        header: the response header.
    """

    def __repr__(self) -> str:
        return "DefragmentResponse()"


class HashKVResponse(_View[_pb.rpc.HashKVResponse]):
    """The hash of one member's key space up to a revision.

    Attributes:
        header: the response header (``revision``: the revision hashed up to).
        hash: the CRC-32C hash of the keys and values.
        compact_revision: the member's compacted revision.
    """

    @property
    def hash(self) -> int:
        """The hash."""
        return self._pb.hash

    @property
    def compact_revision(self) -> int:
        """The compacted revision."""
        return self._pb.compact_revision

    def __repr__(self) -> str:
        return f"HashKVResponse(hash={self.hash:#x}, compact_revision={self.compact_revision})"


class MoveLeaderResponse(_View[_pb.rpc.MoveLeaderResponse]):
    """The answer to a leader move.

    Attributes:
        header: the response header.
    """

    def __repr__(self) -> str:
        return "MoveLeaderResponse()"


class SnapshotResponse:
    """What :meth:`Maintenance.snapshot` saved.

    Attributes:
        header: the header of the member the snapshot came from. etcd 3.6 sends it in the
            snapshot stream; etcd 3.4 and 3.5 send an empty one, so the client takes it from
            the ``status`` of that member asked just before the transfer (its ``revision``
            is then the store's revision when the snapshot began; the snapshot holds at
            least that).
        version: the etcd version of that member (from the same ``status``).
        size: the bytes saved: the database and its 32-byte SHA-256 trailer.
    """

    __slots__ = ("_header", "_size", "_version")

    def __init__(self, header: _pb.rpc.ResponseHeader, version: str, size: int) -> None:
        self._header = header
        self._version = version
        self._size = size

    @property
    def header(self) -> ResponseHeader:
        """The header of the member the snapshot came from."""
        return ResponseHeader(self._header)

    @property
    def version(self) -> str:
        """The etcd version of that member."""
        return self._version

    @property
    def size(self) -> int:
        """The bytes saved, trailer included."""
        return self._size

    def __repr__(self) -> str:
        return (
            f"SnapshotResponse(version={self.version!r}, size={self.size}, "
            f"member_id={self.header.member_id:#x}, revision={self.header.revision})"
        )


class DowngradeAction(enum.IntEnum):
    """What :meth:`Maintenance.downgrade` asks (etcd's ``DowngradeRequest.DowngradeAction``).

    Attributes:
        VALIDATE: check that the cluster could be downgraded to the version; change nothing.
        ENABLE: start downgrading the cluster to the version.
        CANCEL: cancel the downgrade in progress (the version is ignored).
    """

    VALIDATE = 0
    ENABLE = 1
    CANCEL = 2


class DowngradeResponse(_View[_pb.rpc.DowngradeResponse]):
    """The answer to a downgrade action.

    Attributes:
        header: the response header.
        version: the cluster version (``3.5.0`` on an etcd 3.5 cluster).
    """

    @property
    def version(self) -> str:
        """The cluster version."""
        return self._pb.version

    def __repr__(self) -> str:
        return f"DowngradeResponse(version={self.version!r})"
