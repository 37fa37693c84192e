"""The Maintenance concern: per-member status (clientv3 ``maintenance.go``).

Owns :class:`Maintenance` and :class:`StatusResponse`. ``status`` asks one named member, over
a channel of its own (same credentials), as clientv3 does; alarms, defragment, hash and
snapshot arrive with the maintenance issue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcd3py import _pb
from etcd3py._transport import check_timeout
from etcd3py.models import ResponseHeader

if TYPE_CHECKING:
    from etcd3py._transport import Transport

__all__ = ["Maintenance", "StatusResponse"]


class StatusResponse:
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

    __slots__ = ("_pb",)

    def __init__(self, pb: _pb.rpc.StatusResponse) -> None:
        self._pb = pb

    @property
    def header(self) -> ResponseHeader:
        """The response header."""
        return ResponseHeader(self._pb.header)

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
