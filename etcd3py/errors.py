"""Every error etcd3py raises, and the one table that maps gRPC failures to them.

The tree follows gRPC status codes, with one leaf per etcd server error (named after
clientv3's ``rpctypes``)::

    EtcdError
    ├── InvalidArgumentError (ValueError)      INVALID_ARGUMENT
    │   ├── ArgumentTypeError (TypeError)      a wrong argument type, refused at the call
    │   ├── EmptyKeyError  KeyNotFoundError  ValueProvidedError  LeaseProvidedError
    │   ├── TooManyOpsError  DuplicateKeyError  RequestTooLargeError  MemberBadURLsError
    │   ├── UserEmptyError  RoleEmptyError  AuthFailedError  PermissionNotGivenError
    │   └── InvalidAuthMgmtError  InvalidSortOptionError  AuthOldRevisionError ...
    ├── OutOfRangeError                        OUT_OF_RANGE
    │   └── CompactedError  FutureRevisionError  LeaseTTLTooLargeError
    ├── ResourceExhaustedError                 RESOURCE_EXHAUSTED
    │   └── NoSpaceError  TooManyRequestsError
    ├── NotFoundError                          NOT_FOUND
    │   └── LeaseNotFoundError  MemberNotFoundError
    ├── FailedPreconditionError                FAILED_PRECONDITION
    │   └── LeaseExistError  MemberExistError  PeerURLExistError  NotLeaderError ...
    ├── PermissionDeniedError                  PERMISSION_DENIED
    ├── UnauthenticatedError                   UNAUTHENTICATED
    │   └── InvalidAuthTokenError
    ├── UnavailableError                       UNAVAILABLE
    │   └── NoLeaderError  LeaderChangedError  NotCapableError  StoppedError ...
    ├── DeadlineExceededError (TimeoutError)   DEADLINE_EXCEEDED
    ├── CanceledError                          CANCELLED
    │   └── WatchCanceledError
    ├── DataLossError                          DATA_LOSS
    │   └── CorruptError  SnapshotChecksumError
    ├── AlreadyExistsError  AbortedError  UnimplementedError  InternalError  UnknownError
    ├── ClientClosedError                      the client was closed (no gRPC status)
    ├── LeaseExpiredError                      a kept-alive lease ran out (no gRPC status)
    ├── LockedError  LockReleasedError  SessionExpiredError   the Mutex (no gRPC status)
    ├── ElectionNoLeaderError  ElectionNotLeaderError   its Election (no gRPC status)
    └── ForkedClientError                      a client used in a child after os.fork()

Each class declares its gRPC code and, for a leaf, etcd's exact message; defining the class
registers it. :func:`from_rpc_error` looks a failure up by message first, then by code, and
keeps the server's text. The reference server raises the same classes (``.status()`` gives
the code and message to abort with), so both sides speak from one table.

This module does no I/O and imports nothing of etcd3py.
"""

from __future__ import annotations

from typing import ClassVar

import grpc

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "ArgumentTypeError",
    "AuthFailedError",
    "AuthNotEnabledError",
    "AuthOldRevisionError",
    "BadLeaderTransfereeError",
    "CanceledError",
    "ClientClosedError",
    "ClusterIDMismatchError",
    "ClusterVersionUnavailableError",
    "CompactedError",
    "CorruptError",
    "DataLossError",
    "DeadlineExceededError",
    "DowngradeInProcessError",
    "DuplicateKeyError",
    "ElectionNoLeaderError",
    "ElectionNotLeaderError",
    "EmptyKeyError",
    "EtcdError",
    "FailedPreconditionError",
    "ForkedClientError",
    "FutureRevisionError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidAuthMgmtError",
    "InvalidAuthTokenError",
    "InvalidDowngradeTargetVersionError",
    "InvalidSortOptionError",
    "KeyNotFoundError",
    "LeaderChangedError",
    "LearnerNotReadyError",
    "LeaseExistError",
    "LeaseExpiredError",
    "LeaseNotFoundError",
    "LeaseProvidedError",
    "LeaseTTLTooLargeError",
    "LockReleasedError",
    "LockedError",
    "MemberBadURLsError",
    "MemberExistError",
    "MemberNotEnoughStartedError",
    "MemberNotFoundError",
    "MemberNotLearnerError",
    "NoInflightDowngradeError",
    "NoLeaderError",
    "NoSpaceError",
    "NotCapableError",
    "NotFoundError",
    "NotLeaderError",
    "NotSupportedForLearnerError",
    "OutOfRangeError",
    "PeerURLExistError",
    "PermissionDeniedError",
    "PermissionNotGivenError",
    "PermissionNotGrantedError",
    "RequestTimedOutError",
    "RequestTooLargeError",
    "ResourceExhaustedError",
    "RoleAlreadyExistError",
    "RoleEmptyError",
    "RoleNotFoundError",
    "RoleNotGrantedError",
    "RootRoleNotExistError",
    "RootUserNotExistError",
    "SessionExpiredError",
    "SnapshotChecksumError",
    "StoppedError",
    "TimeoutDueToConnectionLostError",
    "TimeoutDueToLeaderFailError",
    "TimeoutWaitAppliedIndexError",
    "TooManyLearnersError",
    "TooManyOpsError",
    "TooManyRequestsError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnhealthyError",
    "UnimplementedError",
    "UnknownError",
    "UserAlreadyExistError",
    "UserEmptyError",
    "UserNotFoundError",
    "ValueProvidedError",
    "WatchCanceledError",
    "WrongDowngradeVersionFormatError",
    "from_rpc_error",
]

_BY_MESSAGE: dict[str, type[EtcdError]] = {}
_BY_CODE: dict[grpc.StatusCode, type[EtcdError]] = {}

# gRPC's own refusal of an oversized message (client or server side) says one of these.
_GRPC_SIZE_REFUSALS = ("larger than max", "message too large", "exceeds maximum")


class EtcdError(Exception):
    """Base of every error etcd3py raises.

    Attributes:
        code: the gRPC status code of the failure (``grpc.StatusCode.UNKNOWN`` when there was none).
        details: the server's (or gRPC's) message, kept as sent.
    """

    #: gRPC status code this class stands for; ``None`` for classes no status maps to.
    grpc_code: ClassVar[grpc.StatusCode | None] = None
    #: etcd's exact error message for a leaf class, ``None`` for a family.
    etcd_message: ClassVar[str | None] = None

    def __init__(self, details: str | None = None, *, code: grpc.StatusCode | None = None) -> None:
        self.details: str = details if details is not None else (self.etcd_message or "")
        self.code: grpc.StatusCode = code or self.grpc_code or grpc.StatusCode.UNKNOWN
        super().__init__(self.details)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        message = cls.__dict__.get("etcd_message")
        code = cls.__dict__.get("grpc_code")
        if message is not None:
            _BY_MESSAGE[message] = cls
        elif code is not None:
            _BY_CODE[code] = cls

    @classmethod
    def status(cls) -> tuple[grpc.StatusCode, str]:
        """Return the (code, message) a server aborts with to report this error."""
        return cls.grpc_code or grpc.StatusCode.UNKNOWN, cls.etcd_message or ""


def from_rpc_error(exc: grpc.RpcError) -> EtcdError:
    """Map a failed gRPC call to the most specific :class:`EtcdError`, keeping its text.

    Looks the status message up in etcd's message table first, then the status code;
    gRPC's own message-size refusal becomes :class:`RequestTooLargeError`.
    """
    code_fn = getattr(exc, "code", None)
    details_fn = getattr(exc, "details", None)
    code = code_fn() if callable(code_fn) else grpc.StatusCode.UNKNOWN
    details = (details_fn() if callable(details_fn) else None) or str(exc)
    cls = _BY_MESSAGE.get(details)
    size_refusal = any(marker in details.lower() for marker in _GRPC_SIZE_REFUSALS)
    if cls is None and code == grpc.StatusCode.RESOURCE_EXHAUSTED and size_refusal:
        cls = RequestTooLargeError
    if cls is None:
        cls = _BY_CODE.get(code, EtcdError)
    return cls(details, code=code)


# ---- families: one per gRPC status ------------------------------------------------------


class InvalidArgumentError(EtcdError, ValueError):
    """The request was malformed (``INVALID_ARGUMENT``), by the server's or the client's check."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument of the wrong type was passed; raised at the call, before anything is sent."""


class OutOfRangeError(EtcdError):
    """A revision or TTL out of the server's range (``OUT_OF_RANGE``)."""

    grpc_code = grpc.StatusCode.OUT_OF_RANGE


class ResourceExhaustedError(EtcdError):
    """The server or gRPC ran out of a resource (``RESOURCE_EXHAUSTED``)."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class NotFoundError(EtcdError):
    """The named lease or member does not exist (``NOT_FOUND``)."""

    grpc_code = grpc.StatusCode.NOT_FOUND


class FailedPreconditionError(EtcdError):
    """The cluster is not in a state that allows the request (``FAILED_PRECONDITION``)."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDeniedError(EtcdError):
    """The user may not do this (``PERMISSION_DENIED``; etcd's "permission denied")."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED


class UnauthenticatedError(EtcdError):
    """The request carried no valid credentials (``UNAUTHENTICATED``)."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED


class UnavailableError(EtcdError):
    """No endpoint could serve the request now (``UNAVAILABLE``); safe requests are retried."""

    grpc_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceededError(EtcdError, TimeoutError):
    """The call's ``timeout=`` or its context's deadline passed (``DEADLINE_EXCEEDED``)."""

    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED


class CanceledError(EtcdError):
    """The call or watch was cancelled (``CANCELLED``), by the caller or the server."""

    grpc_code = grpc.StatusCode.CANCELLED


class DataLossError(EtcdError):
    """Unrecoverable data loss or corruption (``DATA_LOSS``)."""

    grpc_code = grpc.StatusCode.DATA_LOSS


class AlreadyExistsError(EtcdError):
    """``ALREADY_EXISTS`` from gRPC."""

    grpc_code = grpc.StatusCode.ALREADY_EXISTS


class AbortedError(EtcdError):
    """``ABORTED`` from gRPC."""

    grpc_code = grpc.StatusCode.ABORTED


class UnimplementedError(EtcdError):
    """The server does not implement this RPC (``UNIMPLEMENTED``)."""

    grpc_code = grpc.StatusCode.UNIMPLEMENTED


class InternalError(EtcdError):
    """The server or gRPC failed internally (``INTERNAL``)."""

    grpc_code = grpc.StatusCode.INTERNAL


class UnknownError(EtcdError):
    """A failure with ``UNKNOWN`` status."""

    grpc_code = grpc.StatusCode.UNKNOWN


class ClientClosedError(EtcdError):
    """The client (or the watch or keep-alive) was used after ``close()``."""


class LeaseExpiredError(EtcdError):
    """A kept-alive lease's TTL ran out before a renewal got through (no gRPC status).

    Ends a keep-alive whose renewals could not reach the server in time (the stream was
    down, or the server did not answer); a lease the server reports gone ends with
    :class:`LeaseNotFoundError` instead.
    """


class ForkedClientError(EtcdError):
    """A client made before ``os.fork()`` was used in the child process.

    gRPC channels do not survive a fork: create clients after forking (in each worker).
    """


# ---- leaves: etcd's server errors (rpctypes/error.go), by exact message ---------------------


class EmptyKeyError(InvalidArgumentError):
    """The key is empty; refused by the client at the call and by the server."""

    etcd_message = "etcdserver: key is not provided"


class KeyNotFoundError(InvalidArgumentError):
    """A put with ``ignore_value``/``ignore_lease`` named a key that does not exist."""

    etcd_message = "etcdserver: key not found"


class ValueProvidedError(InvalidArgumentError):
    """A put with ``ignore_value=True`` also carried a value."""

    etcd_message = "etcdserver: value is provided"


class LeaseProvidedError(InvalidArgumentError):
    """A put with ``ignore_lease=True`` also carried a lease."""

    etcd_message = "etcdserver: lease is provided"


class TooManyOpsError(InvalidArgumentError):
    """A txn has more operations than the server's ``--max-txn-ops``."""

    etcd_message = "etcdserver: too many operations in txn request"


class DuplicateKeyError(InvalidArgumentError):
    """A txn writes the same key twice in one branch."""

    etcd_message = "etcdserver: duplicate key given in txn request"


class RequestTooLargeError(InvalidArgumentError):
    """The request exceeds the server's request size limit or gRPC's message size limit."""

    etcd_message = "etcdserver: request is too large"


class MemberBadURLsError(InvalidArgumentError):
    """The member's peer URLs are invalid."""

    etcd_message = "etcdserver: given member URLs are invalid"


class UserEmptyError(InvalidArgumentError):
    """The user name is empty."""

    etcd_message = "etcdserver: user name is empty"


class RoleEmptyError(InvalidArgumentError):
    """The role name is empty."""

    etcd_message = "etcdserver: role name is empty"


class AuthFailedError(InvalidArgumentError):
    """Authentication failed: unknown user or wrong password."""

    etcd_message = "etcdserver: authentication failed, invalid user ID or password"


class PermissionNotGivenError(InvalidArgumentError):
    """A role permission request carried no permission."""

    etcd_message = "etcdserver: permission not given"


class InvalidAuthMgmtError(InvalidArgumentError):
    """An auth management request that etcd refuses (e.g. revoking root from root)."""

    etcd_message = "etcdserver: invalid auth management"


class InvalidSortOptionError(InvalidArgumentError):
    """The range's sort option is not valid (etcd 3.6)."""

    etcd_message = "etcdserver: invalid sort option"


class AuthOldRevisionError(InvalidArgumentError):
    """The auth store changed since the token's revision (etcd 3.6 ``ErrAuthOldRevision``)."""

    etcd_message = "etcdserver: revision of auth store is old"


class WrongDowngradeVersionFormatError(InvalidArgumentError):
    """The downgrade target version is malformed."""

    etcd_message = "etcdserver: wrong downgrade target version format"


class InvalidDowngradeTargetVersionError(InvalidArgumentError):
    """The downgrade target version is not allowed."""

    etcd_message = "etcdserver: invalid downgrade target version"


class CompactedError(OutOfRangeError):
    """The requested revision has been compacted away."""

    etcd_message = "etcdserver: mvcc: required revision has been compacted"


class FutureRevisionError(OutOfRangeError):
    """The requested revision is newer than the store's current revision."""

    etcd_message = "etcdserver: mvcc: required revision is a future revision"


class LeaseTTLTooLargeError(OutOfRangeError):
    """The lease TTL exceeds the server's maximum."""

    etcd_message = "etcdserver: too large lease TTL"


class NoSpaceError(ResourceExhaustedError):
    """The backend quota is exhausted (the NOSPACE alarm)."""

    etcd_message = "etcdserver: mvcc: database space exceeded"


class TooManyRequestsError(ResourceExhaustedError):
    """The server has too many pending proposals."""

    etcd_message = "etcdserver: too many requests"


class LeaseNotFoundError(NotFoundError):
    """The lease does not exist (never granted, revoked or expired)."""

    etcd_message = "etcdserver: requested lease not found"


class MemberNotFoundError(NotFoundError):
    """The member does not exist."""

    etcd_message = "etcdserver: member not found"


class LeaseExistError(FailedPreconditionError):
    """A lease with the requested ID already exists."""

    etcd_message = "etcdserver: lease already exists"


class MemberExistError(FailedPreconditionError):
    """A member with that ID already exists."""

    etcd_message = "etcdserver: member ID already exist"


class PeerURLExistError(FailedPreconditionError):
    """A member with those peer URLs already exists."""

    etcd_message = "etcdserver: Peer URLs already exists"


class MemberNotEnoughStartedError(FailedPreconditionError):
    """Reconfiguring would leave too few started members."""

    etcd_message = "etcdserver: re-configuration failed due to not enough started members"


class ClusterIDMismatchError(FailedPreconditionError):
    """The request was meant for another cluster (etcd 3.6 ``ErrClusterIDMismatch``)."""

    etcd_message = "etcdserver: cluster ID mismatch"


class MemberNotLearnerError(FailedPreconditionError):
    """Only a learner can be promoted."""

    etcd_message = "etcdserver: can only promote a learner member"


class LearnerNotReadyError(FailedPreconditionError):
    """The learner has not caught up with the leader yet."""

    etcd_message = "etcdserver: can only promote a learner member which is in sync with leader"


class TooManyLearnersError(FailedPreconditionError):
    """The cluster already has the maximum number of learners."""

    etcd_message = "etcdserver: too many learner members in cluster"


class RootUserNotExistError(FailedPreconditionError):
    """Auth cannot be enabled without a root user."""

    etcd_message = "etcdserver: root user does not exist"


class RootRoleNotExistError(FailedPreconditionError):
    """Auth cannot be enabled while the root user lacks the root role."""

    etcd_message = "etcdserver: root user does not have root role"


class UserAlreadyExistError(FailedPreconditionError):
    """The user already exists."""

    etcd_message = "etcdserver: user name already exists"


class UserNotFoundError(FailedPreconditionError):
    """The user does not exist."""

    etcd_message = "etcdserver: user name not found"


class RoleAlreadyExistError(FailedPreconditionError):
    """The role already exists."""

    etcd_message = "etcdserver: role name already exists"


class RoleNotFoundError(FailedPreconditionError):
    """The role does not exist."""

    etcd_message = "etcdserver: role name not found"


class RoleNotGrantedError(FailedPreconditionError):
    """The role is not granted to the user."""

    etcd_message = "etcdserver: role is not granted to the user"


class PermissionNotGrantedError(FailedPreconditionError):
    """The permission is not granted to the role."""

    etcd_message = "etcdserver: permission is not granted to the role"


class AuthNotEnabledError(FailedPreconditionError):
    """Authentication is not enabled on the cluster."""

    etcd_message = "etcdserver: authentication is not enabled"


class NotLeaderError(FailedPreconditionError):
    """The member asked to act as leader is not the leader."""

    etcd_message = "etcdserver: not leader"


class BadLeaderTransfereeError(FailedPreconditionError):
    """The member named in move_leader cannot become leader."""

    etcd_message = "etcdserver: bad leader transferee"


class DowngradeInProcessError(FailedPreconditionError):
    """A downgrade job is already in progress."""

    etcd_message = "etcdserver: cluster has a downgrade job in progress"


class NoInflightDowngradeError(FailedPreconditionError):
    """No downgrade job is in progress."""

    etcd_message = "etcdserver: no inflight downgrade job"


class InvalidAuthTokenError(UnauthenticatedError):
    """The auth token is invalid or expired; the client refreshes it and retries."""

    etcd_message = "etcdserver: invalid auth token"


class NoLeaderError(UnavailableError):
    """The member has no leader (elections in progress, or partitioned)."""

    etcd_message = "etcdserver: no leader"


class LeaderChangedError(UnavailableError):
    """The leader changed while the request was in flight."""

    etcd_message = "etcdserver: leader changed"


class NotCapableError(UnavailableError):
    """The cluster version does not support the request."""

    etcd_message = "etcdserver: not capable"


class StoppedError(UnavailableError):
    """The member is stopping."""

    etcd_message = "etcdserver: server stopped"


class RequestTimedOutError(UnavailableError):
    """The server timed out applying the request (rpctypes ``ErrTimeout``)."""

    etcd_message = "etcdserver: request timed out"


class TimeoutDueToLeaderFailError(UnavailableError):
    """The server timed out, possibly because the previous leader failed."""

    etcd_message = "etcdserver: request timed out, possibly due to previous leader failure"


class TimeoutDueToConnectionLostError(UnavailableError):
    """The server timed out, possibly because its connection was lost."""

    etcd_message = "etcdserver: request timed out, possibly due to connection lost"


class UnhealthyError(UnavailableError):
    """The cluster is unhealthy."""

    etcd_message = "etcdserver: unhealthy cluster"


class NotSupportedForLearnerError(UnavailableError):
    """A learner member does not serve this RPC."""

    etcd_message = "etcdserver: rpc not supported for learner"


class ClusterVersionUnavailableError(UnavailableError):
    """The cluster version is not known during a downgrade."""

    etcd_message = "etcdserver: cluster version not found during downgrade"


class TimeoutWaitAppliedIndexError(UnavailableError):
    """The server timed out waiting for its applied index to catch up (etcd 3.6)."""

    etcd_message = "etcdserver: request timed out, waiting for the applied index took too long"


class WatchCanceledError(CanceledError):
    """The server cancelled the watch."""

    etcd_message = "etcdserver: watch canceled"


class SnapshotChecksumError(DataLossError):
    """A snapshot's SHA-256 trailer is missing or does not match its data (the client's own
    check, as etcdutl's; no gRPC status)."""


class CorruptError(DataLossError):
    """The cluster is corrupt."""

    etcd_message = "etcdserver: corrupt cluster"


# The families themselves carry etcd's messages for these two statuses.
_BY_MESSAGE["etcdserver: request canceled"] = CanceledError
_BY_MESSAGE["etcdserver: context deadline exceeded"] = DeadlineExceededError
_BY_MESSAGE["etcdserver: permission denied"] = PermissionDeniedError
# Go's own context errors, as etcd sends them (status UNKNOWN) when the request's context ended
# inside the server, e.g. a linearizable read on a member without a leader past its deadline.
_BY_MESSAGE["context deadline exceeded"] = DeadlineExceededError
_BY_MESSAGE["context canceled"] = CanceledError


# ---- the concurrency recipes' own errors (clientv3/concurrency; no gRPC status) -----------


class LockedError(EtcdError):
    """``Mutex.try_lock`` found the lock held by another session (Go's ``ErrLocked``)."""

    def __init__(self, details: str | None = None, *, code: grpc.StatusCode | None = None) -> None:
        super().__init__(details or "mutex: Locked by another session", code=code)


class LockReleasedError(EtcdError):
    """``Mutex.unlock`` was called on a mutex that holds no lock (clientv3 3.6
    ``ErrLockReleased``); nothing was sent."""

    def __init__(self, details: str | None = None, *, code: grpc.StatusCode | None = None) -> None:
        super().__init__(details or "mutex: lock has been released", code=code)


class SessionExpiredError(EtcdError):
    """The session's lease (and so its lock or election key) is gone (``ErrSessionExpired``)."""

    def __init__(self, details: str | None = None, *, code: grpc.StatusCode | None = None) -> None:
        super().__init__(details or "mutex: session is expired", code=code)


class ElectionNoLeaderError(EtcdError):
    """``Election.leader`` found no leader elected (Go's ``ErrElectionNoLeader``)."""

    def __init__(self, details: str | None = None, *, code: grpc.StatusCode | None = None) -> None:
        super().__init__(details or "election: no leader", code=code)


class ElectionNotLeaderError(EtcdError):
    """``Election.proclaim`` was called by a candidate that is not the leader
    (Go's ``ErrElectionNotLeader``)."""

    def __init__(self, details: str | None = None, *, code: grpc.StatusCode | None = None) -> None:
        super().__init__(details or "election: not leader", code=code)
