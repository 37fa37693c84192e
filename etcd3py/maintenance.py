"""The Maintenance concern: status, alarms, defragment, hash, snapshot, leader moves.

Mirrors clientv3 ``maintenance.go``. Owns :class:`Maintenance`, :class:`AlarmType` and the
response views. ``status``, ``defragment`` and ``hash_kv`` ask one named member over a channel
of its own (same credentials), as clientv3 does; ``move_leader`` finds the leader among the
client's endpoints with ``status`` and asks it; alarms and snapshots use the client's channel.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, BinaryIO

import grpc

from etcd3py import _pb
from etcd3py._responses import _View
from etcd3py._streams import cancel_call
from etcd3py._transport import check_timeout
from etcd3py.errors import NoLeaderError, from_rpc_error

if TYPE_CHECKING:
    from etcd3py._transport import Transport

__all__ = [
    "AlarmMember",
    "AlarmResponse",
    "AlarmType",
    "DefragmentResponse",
    "HashKVResponse",
    "Maintenance",
    "MoveLeaderResponse",
    "StatusResponse",
]


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


class Maintenance:
    """Member maintenance, as clientv3's ``Maintenance`` interface."""

    def __init__(self, transport: Transport) -> None:
        """Serve maintenance calls through ``transport``.

        Args:
            transport: the client's transport.
        """
        self._transport = transport

    def status(self, endpoint: str, *, timeout: float | None = None) -> StatusResponse:
        """Ask the member at ``endpoint`` for its status.

        Args:
            endpoint: ``host:port`` (or a URL) of the member; need not be one of the client's.
            timeout: seconds for the call, retries included.

        Returns:
            The member's status.

        Raises:
            UnavailableError: the member cannot be reached.
        """
        check_timeout(timeout)
        t = self._transport
        with t.endpoint_channel(endpoint) as channel:
            stub = _pb.rpc_grpc.MaintenanceStub(channel)
            request = _pb.rpc.StatusRequest()
            return StatusResponse(t.call(stub.Status, request, timeout=timeout, repeatable=True))

    def alarm_list(self, *, timeout: float | None = None) -> AlarmResponse:
        """List the alarms raised in the cluster.

        Args:
            timeout: seconds for the call, retries included.

        Returns:
            The alarms (none when the cluster is healthy).
        """
        check_timeout(timeout)
        request = _pb.rpc.AlarmRequest(action=_pb.rpc.AlarmRequest.GET, alarm=_pb.rpc.NONE)
        t = self._transport
        return AlarmResponse(t.call(t.maintenance.Alarm, request, timeout=timeout, repeatable=True))

    def alarm_disarm(
        self, member_id: int, alarm: AlarmType, *, timeout: float | None = None
    ) -> AlarmResponse:
        """Clear an alarm.

        Args:
            member_id: the member whose alarm to clear.
            alarm: the kind of alarm to clear.
            timeout: seconds for the call, retries included.

        Returns:
            The alarms cleared.
        """
        check_timeout(timeout)
        request = _pb.rpc.AlarmRequest(
            action=_pb.rpc.AlarmRequest.DEACTIVATE,
            memberID=member_id,
            alarm=_pb.rpc.AlarmType.Value(AlarmType(alarm).name),
        )
        t = self._transport
        return AlarmResponse(t.call(t.maintenance.Alarm, request, timeout=timeout))

    def defragment(self, endpoint: str, *, timeout: float | None = None) -> DefragmentResponse:
        """Defragment the backend database of the member at ``endpoint``.

        The member blocks its reads and writes while it rewrites its database.

        Args:
            endpoint: ``host:port`` (or a URL) of the member.
            timeout: seconds for the call, retries included.

        Returns:
            The (empty) answer.

        Raises:
            UnavailableError: the member cannot be reached.
        """
        check_timeout(timeout)
        t = self._transport
        with t.endpoint_channel(endpoint) as channel:
            stub = _pb.rpc_grpc.MaintenanceStub(channel)
            request = _pb.rpc.DefragmentRequest()
            return DefragmentResponse(t.call(stub.Defragment, request, timeout=timeout))

    def hash_kv(
        self, endpoint: str, rev: int = 0, *, timeout: float | None = None
    ) -> HashKVResponse:
        """Hash the key space of the member at ``endpoint`` up to revision ``rev``.

        Args:
            endpoint: ``host:port`` (or a URL) of the member.
            rev: the revision to hash up to (0: the member's current revision).
            timeout: seconds for the call, retries included.

        Returns:
            The hash, with the revision hashed up to in its header.

        Raises:
            CompactedError: ``rev`` was compacted.
            FutureRevisionError: ``rev`` is past the member's revision.
        """
        check_timeout(timeout)
        t = self._transport
        with t.endpoint_channel(endpoint) as channel:
            stub = _pb.rpc_grpc.MaintenanceStub(channel)
            request = _pb.rpc.HashKVRequest(revision=rev)
            return HashKVResponse(t.call(stub.HashKV, request, timeout=timeout, repeatable=True))

    def snapshot(self, file_obj: BinaryIO, *, timeout: float | None = None) -> int:
        """Stream a snapshot of the backend database into ``file_obj``.

        The bytes are a bbolt database file, as ``etcdctl snapshot save`` writes (restore it
        with ``etcdutl snapshot restore``). Not retried: a broken stream raises.

        Args:
            file_obj: a binary file object open for writing.
            timeout: seconds for the whole transfer.

        Returns:
            The number of bytes written.

        Raises:
            UnimplementedError: the server does not serve snapshots.
        """
        check_timeout(timeout)
        t = self._transport
        t.check_usable()
        stream = t.maintenance.Snapshot(
            _pb.rpc.SnapshotRequest(), timeout=timeout, metadata=t.metadata()
        )
        written = 0
        try:
            for chunk in stream:
                file_obj.write(chunk.blob)
                written += len(chunk.blob)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc
        finally:
            cancel_call(stream)
        return written

    def move_leader(
        self, transferee_id: int, *, timeout: float | None = None
    ) -> MoveLeaderResponse:
        """Hand the leadership to member ``transferee_id``.

        The request goes to the current leader, found by asking each of the client's
        endpoints for its status.

        Args:
            transferee_id: the member ID of the new leader (a voter).
            timeout: seconds for each call.

        Returns:
            The answer, once the transfer is done.

        Raises:
            BadLeaderTransfereeError: no voting member has that ID.
            NoLeaderError: no endpoint of the client is the leader.
        """
        check_timeout(timeout)
        t = self._transport
        leader = self._leader_endpoint(timeout)
        with t.endpoint_channel(leader) as channel:
            stub = _pb.rpc_grpc.MaintenanceStub(channel)
            request = _pb.rpc.MoveLeaderRequest(targetID=transferee_id)
            return MoveLeaderResponse(t.call(stub.MoveLeader, request, timeout=timeout))

    def _leader_endpoint(self, timeout: float | None) -> str:
        """Return the client endpoint that is the leader (``NoLeaderError`` if none)."""
        for endpoint in self._transport.config.endpoints:
            status = self.status(endpoint.address, timeout=timeout)
            if status.leader != 0 and status.leader == status.header.member_id:
                return endpoint.address
        raise NoLeaderError("etcd3py: no endpoint of the client is the leader")
