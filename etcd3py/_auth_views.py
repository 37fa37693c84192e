"""The auth response views and :class:`PermissionType`: read-only, typed, over the messages.

Re-exported by :mod:`etcd3py.auth`, whose names they are (as clientv3's ``auth.go`` defines
``AuthStatusResponse``, ``Permission`` and ``PermissionType``). No I/O here.
"""

from __future__ import annotations

import enum

from etcd3py import _pb
from etcd3py._responses import _View


class PermissionType(enum.IntEnum):
    """What a role's permission allows on its key range (etcd's ``authpb.Permission.Type``).

    Attributes:
        READ: get and watch.
        WRITE: put and delete.
        READWRITE: both.
    """

    READ = 0
    WRITE = 1
    READWRITE = 2


class Permission:
    """One permission of a role, read-only.

    Attributes:
        perm_type: what it allows.
        key: the key, or the start of the range.
        range_end: the end of the range (exclusive); empty for the single key ``key``;
            ``b"\\0"`` for every key from ``key`` on.
    """

    __slots__ = ("_pb",)

    def __init__(self, pb: _pb.auth.Permission) -> None:
        self._pb = pb

    @property
    def perm_type(self) -> PermissionType:
        """What the permission allows."""
        return PermissionType(self._pb.permType)

    @property
    def key(self) -> bytes:
        """The key, or the start of the range."""
        return self._pb.key

    @property
    def range_end(self) -> bytes:
        """The end of the range (exclusive), empty for a single key."""
        return self._pb.range_end

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Permission):
            return NotImplemented
        return bool(self._pb == other._pb)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Permission(perm_type={self.perm_type.name}, key={self.key!r}, "
            f"range_end={self.range_end!r})"
        )


class AuthEnableResponse(_View[_pb.rpc.AuthEnableResponse]):
    """The answer to :meth:`Auth.auth_enable`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthDisableResponse(_View[_pb.rpc.AuthDisableResponse]):
    """The answer to :meth:`Auth.auth_disable`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthStatusResponse(_View[_pb.rpc.AuthStatusResponse]):
    """The answer to :meth:`Auth.auth_status`.

    Attributes:
        header: the response header.
        enabled: whether authentication is enabled.
        auth_revision: the revision of the auth store (it moves on every auth change).
    """

    __slots__ = ()

    @property
    def enabled(self) -> bool:
        """Whether authentication is enabled."""
        return self._pb.enabled

    @property
    def auth_revision(self) -> int:
        """The revision of the auth store."""
        return self._pb.authRevision

    def __repr__(self) -> str:
        return f"AuthStatusResponse(enabled={self.enabled}, auth_revision={self.auth_revision})"


class AuthenticateResponse(_View[_pb.rpc.AuthenticateResponse]):
    """The answer to :meth:`Auth.authenticate`.

    Attributes:
        header: the response header.
        token: the token to send as the ``token`` metadata of later calls.
    """

    __slots__ = ()

    @property
    def token(self) -> str:
        """The auth token."""
        return self._pb.token

    def __repr__(self) -> str:
        return "AuthenticateResponse(token=<hidden>)"


class AuthUserAddResponse(_View[_pb.rpc.AuthUserAddResponse]):
    """The answer to :meth:`Auth.user_add`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthUserGetResponse(_View[_pb.rpc.AuthUserGetResponse]):
    """The answer to :meth:`Auth.user_get`.

    Attributes:
        header: the response header.
        roles: the roles granted to the user, sorted.
    """

    __slots__ = ()

    @property
    def roles(self) -> list[str]:
        """The user's roles."""
        return list(self._pb.roles)

    def __repr__(self) -> str:
        return f"AuthUserGetResponse(roles={self.roles!r})"


class AuthUserListResponse(_View[_pb.rpc.AuthUserListResponse]):
    """The answer to :meth:`Auth.user_list`.

    Attributes:
        header: the response header.
        users: every user name, sorted.
    """

    __slots__ = ()

    @property
    def users(self) -> list[str]:
        """Every user name."""
        return list(self._pb.users)

    def __repr__(self) -> str:
        return f"AuthUserListResponse(users={self.users!r})"


class AuthUserDeleteResponse(_View[_pb.rpc.AuthUserDeleteResponse]):
    """The answer to :meth:`Auth.user_delete`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthUserChangePasswordResponse(_View[_pb.rpc.AuthUserChangePasswordResponse]):
    """The answer to :meth:`Auth.user_change_password`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthUserGrantRoleResponse(_View[_pb.rpc.AuthUserGrantRoleResponse]):
    """The answer to :meth:`Auth.user_grant_role`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthUserRevokeRoleResponse(_View[_pb.rpc.AuthUserRevokeRoleResponse]):
    """The answer to :meth:`Auth.user_revoke_role`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthRoleAddResponse(_View[_pb.rpc.AuthRoleAddResponse]):
    """The answer to :meth:`Auth.role_add`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthRoleGetResponse(_View[_pb.rpc.AuthRoleGetResponse]):
    """The answer to :meth:`Auth.role_get`.

    Attributes:
        header: the response header.
        perms: the role's permissions, sorted by key as etcd keeps them.
    """

    __slots__ = ()

    @property
    def perms(self) -> list[Permission]:
        """The role's permissions."""
        return [Permission(p) for p in self._pb.perm]

    def __repr__(self) -> str:
        return f"AuthRoleGetResponse(perms={self.perms!r})"


class AuthRoleListResponse(_View[_pb.rpc.AuthRoleListResponse]):
    """The answer to :meth:`Auth.role_list`.

    Attributes:
        header: the response header.
        roles: every role name, sorted.
    """

    __slots__ = ()

    @property
    def roles(self) -> list[str]:
        """Every role name."""
        return list(self._pb.roles)

    def __repr__(self) -> str:
        return f"AuthRoleListResponse(roles={self.roles!r})"


class AuthRoleDeleteResponse(_View[_pb.rpc.AuthRoleDeleteResponse]):
    """The answer to :meth:`Auth.role_delete`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthRoleGrantPermissionResponse(_View[_pb.rpc.AuthRoleGrantPermissionResponse]):
    """The answer to :meth:`Auth.role_grant_permission`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()


class AuthRoleRevokePermissionResponse(_View[_pb.rpc.AuthRoleRevokePermissionResponse]):
    """The answer to :meth:`Auth.role_revoke_permission`.

    Attributes:
        header: the response header.
    """

    __slots__ = ()
