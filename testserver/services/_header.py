"""Response headers of the reference server, as etcd's ``v3rpc/header.go``.

Every top-level response carries the cluster and member ids (fixed for the server's life,
restarts included), the raft term, and a revision: the one the request produced when it set
one, else the store's current revision.
"""

from __future__ import annotations

from etcd3py import _pb
from testserver.mvcc.store import Store


class Header:
    """Fills ``ResponseHeader`` messages for one server.

    Attributes:
        cluster_id: the cluster's id.
        member_id: the one member's id.
        raft_term: the raft term (a fresh single-member etcd is at term 2).
    """

    def __init__(self, store: Store, cluster_id: int, member_id: int, raft_term: int = 2) -> None:
        self.store = store
        self.cluster_id = cluster_id
        self.member_id = member_id
        self.raft_term = raft_term

    def fill(self, header: _pb.rpc.ResponseHeader) -> None:
        """Set ids and term, and the current revision unless the header already has one."""
        header.cluster_id = self.cluster_id
        header.member_id = self.member_id
        header.raft_term = self.raft_term
        if header.revision == 0:
            header.revision = self.store.current_revision

    def without_revision(self) -> _pb.rpc.ResponseHeader:
        """Return a header with ids and term but no revision (etcd's cluster-service header)."""
        return _pb.rpc.ResponseHeader(
            cluster_id=self.cluster_id, member_id=self.member_id, raft_term=self.raft_term
        )
