"""The Auth service's 17 RPCs, described once (see :mod:`etcd3py._calls`).

One function per RPC, named as the :class:`~etcd3py.auth.Auth` method it serves: enabling
(``auth_enable``, ``auth_disable``, ``auth_status``), ``authenticate``, users (``user_*``)
and roles (``role_*``, key-range permissions included). Names, passwords, key ranges and
permission types are checked here, before anything is sent, as etcd would refuse them. The
reads (``auth_status``, ``user_get``, ``user_list``, ``role_get``, ``role_list``) and
``authenticate`` (asking again only makes another token) may be repeated; the changes may not.
"""

from __future__ import annotations

from etcd3py import _pb
from etcd3py._auth_views import (
    AuthDisableResponse,
    AuthEnableResponse,
    AuthenticateResponse,
    AuthRoleAddResponse,
    AuthRoleDeleteResponse,
    AuthRoleGetResponse,
    AuthRoleGrantPermissionResponse,
    AuthRoleListResponse,
    AuthRoleRevokePermissionResponse,
    AuthStatusResponse,
    AuthUserAddResponse,
    AuthUserChangePasswordResponse,
    AuthUserDeleteResponse,
    AuthUserGetResponse,
    AuthUserGrantRoleResponse,
    AuthUserListResponse,
    AuthUserRevokeRoleResponse,
    PermissionType,
)
from etcd3py._calls import Call
from etcd3py._keys import KeyLike
from etcd3py.errors import ArgumentTypeError, InvalidArgumentError, RoleEmptyError, UserEmptyError
from etcd3py.op import Op

__all__ = [
    "auth_disable",
    "auth_enable",
    "auth_status",
    "authenticate",
    "role_add",
    "role_delete",
    "role_get",
    "role_grant_permission",
    "role_list",
    "role_revoke_permission",
    "user_add",
    "user_change_password",
    "user_delete",
    "user_get",
    "user_grant_role",
    "user_list",
    "user_revoke_role",
]


# ---- argument checks ---------------------------------------------------------------------


def _name(value: object, what: str) -> str:
    """Return a user or role name, refusing a non-str."""
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what} must be str, not {type(value).__name__}")
    return value


def _user(value: object) -> str:
    # etcd refuses an empty name only when adding one; elsewhere it is a name not found
    return _name(value, "user name")


def _role(value: object) -> str:
    return _name(value, "role name")


def _new_name(value: object, what: str, empty: type[UserEmptyError] | type[RoleEmptyError]) -> str:
    """Return the name of a user or role to add, refusing an empty one as etcd does."""
    name = _name(value, what)
    if not name:
        raise empty(empty.etcd_message)
    return name


def _password(value: object) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"password must be str, not {type(value).__name__}")
    return value


def _perm_range(
    key: KeyLike, range_end: KeyLike | None, prefix: bool, from_key: bool
) -> tuple[bytes, bytes]:
    """Return (key, range_end) of a permission, checked and computed exactly as a get's.

    The empty key with ``prefix`` or ``from_key`` is every key (``b"\\0"``, ``b"\\0"``), as
    etcdctl's ``role grant-permission`` sends it.
    """
    op = Op.get(key, prefix=prefix, from_key=from_key, range_end=range_end)
    return op.key, op.range_end


def _perm_type(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"perm_type must be a PermissionType, not {type(value).__name__}")
    try:
        return int(PermissionType(value))
    except ValueError:
        raise InvalidArgumentError(f"perm_type {value} is not a valid PermissionType") from None


# ---- enabling ----------------------------------------------------------------------------


def auth_enable() -> Call[AuthEnableResponse]:
    """Describe the AuthEnable RPC (a change: not repeated once sent).

    Returns:
        The call.
    """
    return Call("auth", "AuthEnable", _pb.rpc.AuthEnableRequest(), AuthEnableResponse)


def auth_disable() -> Call[AuthDisableResponse]:
    """Describe the AuthDisable RPC (a change: not repeated once sent).

    Returns:
        The call.
    """
    return Call("auth", "AuthDisable", _pb.rpc.AuthDisableRequest(), AuthDisableResponse)


def auth_status() -> Call[AuthStatusResponse]:
    """Describe the AuthStatus RPC (a read: repeatable).

    Returns:
        The call, whose answer has ``.enabled`` and ``.auth_revision``.
    """
    request = _pb.rpc.AuthStatusRequest()
    return Call("auth", "AuthStatus", request, AuthStatusResponse, repeatable=True)


def authenticate(name: str, password: str) -> Call[AuthenticateResponse]:
    """Describe the Authenticate RPC (repeatable: asking again only makes another token).

    Args:
        name: the user name.
        password: the user's password.

    Returns:
        The call, whose answer has ``.token``.

    Raises:
        ArgumentTypeError: ``name`` or ``password`` is not a str.
    """
    request = _pb.rpc.AuthenticateRequest(name=_user(name), password=_password(password))
    return Call("auth", "Authenticate", request, AuthenticateResponse, repeatable=True)


# ---- users -------------------------------------------------------------------------------


def user_add(name: str, password: str | None, no_password: bool) -> Call[AuthUserAddResponse]:
    """Describe the UserAdd RPC (a change).

    Args:
        name: the user name.
        password: its password (``None`` with ``no_password``).
        no_password: a user without a password, that logs in by TLS only.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``no_password`` is not a bool, ``name`` or ``password`` not a str.
        InvalidArgumentError: no password and no ``no_password``, or both.
        UserEmptyError: ``name`` is empty.
    """
    if not isinstance(no_password, bool):
        raise ArgumentTypeError(f"no_password must be a bool, not {type(no_password).__name__}")
    if no_password and password is not None:
        raise InvalidArgumentError("password and no_password=True cannot be set together")
    if not no_password and password is None:
        raise InvalidArgumentError("user_add needs a password, or no_password=True")
    request = _pb.rpc.AuthUserAddRequest(
        name=_new_name(name, "user name", UserEmptyError),
        password="" if password is None else _password(password),
        options=_pb.auth.UserAddOptions(no_password=no_password),
    )
    return Call("auth", "UserAdd", request, AuthUserAddResponse)


def user_get(name: str) -> Call[AuthUserGetResponse]:
    """Describe the UserGet RPC (a read: repeatable).

    Args:
        name: the user name.

    Returns:
        The call, whose answer has ``.roles``.

    Raises:
        ArgumentTypeError: ``name`` is not a str.
    """
    request = _pb.rpc.AuthUserGetRequest(name=_user(name))
    return Call("auth", "UserGet", request, AuthUserGetResponse, repeatable=True)


def user_list() -> Call[AuthUserListResponse]:
    """Describe the UserList RPC (a read: repeatable).

    Returns:
        The call, whose answer has ``.users``.
    """
    request = _pb.rpc.AuthUserListRequest()
    return Call("auth", "UserList", request, AuthUserListResponse, repeatable=True)


def user_delete(name: str) -> Call[AuthUserDeleteResponse]:
    """Describe the UserDelete RPC (a change).

    Args:
        name: the user name.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``name`` is not a str.
    """
    request = _pb.rpc.AuthUserDeleteRequest(name=_user(name))
    return Call("auth", "UserDelete", request, AuthUserDeleteResponse)


def user_change_password(name: str, password: str) -> Call[AuthUserChangePasswordResponse]:
    """Describe the UserChangePassword RPC (a change).

    Args:
        name: the user name.
        password: the new password.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``name`` or ``password`` is not a str.
    """
    request = _pb.rpc.AuthUserChangePasswordRequest(name=_user(name), password=_password(password))
    return Call("auth", "UserChangePassword", request, AuthUserChangePasswordResponse)


def user_grant_role(user: str, role: str) -> Call[AuthUserGrantRoleResponse]:
    """Describe the UserGrantRole RPC (a change).

    Args:
        user: the user name.
        role: the role name.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``user`` or ``role`` is not a str.
    """
    request = _pb.rpc.AuthUserGrantRoleRequest(user=_user(user), role=_role(role))
    return Call("auth", "UserGrantRole", request, AuthUserGrantRoleResponse)


def user_revoke_role(name: str, role: str) -> Call[AuthUserRevokeRoleResponse]:
    """Describe the UserRevokeRole RPC (a change).

    Args:
        name: the user name.
        role: the role name.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``name`` or ``role`` is not a str.
    """
    request = _pb.rpc.AuthUserRevokeRoleRequest(name=_user(name), role=_role(role))
    return Call("auth", "UserRevokeRole", request, AuthUserRevokeRoleResponse)


# ---- roles -------------------------------------------------------------------------------


def role_add(name: str) -> Call[AuthRoleAddResponse]:
    """Describe the RoleAdd RPC (a change).

    Args:
        name: the role name.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``name`` is not a str.
        RoleEmptyError: ``name`` is empty.
    """
    request = _pb.rpc.AuthRoleAddRequest(name=_new_name(name, "role name", RoleEmptyError))
    return Call("auth", "RoleAdd", request, AuthRoleAddResponse)


def role_get(role: str) -> Call[AuthRoleGetResponse]:
    """Describe the RoleGet RPC (a read: repeatable).

    Args:
        role: the role name.

    Returns:
        The call, whose answer has ``.perms``.

    Raises:
        ArgumentTypeError: ``role`` is not a str.
    """
    request = _pb.rpc.AuthRoleGetRequest(role=_role(role))
    return Call("auth", "RoleGet", request, AuthRoleGetResponse, repeatable=True)


def role_list() -> Call[AuthRoleListResponse]:
    """Describe the RoleList RPC (a read: repeatable).

    Returns:
        The call, whose answer has ``.roles``.
    """
    request = _pb.rpc.AuthRoleListRequest()
    return Call("auth", "RoleList", request, AuthRoleListResponse, repeatable=True)


def role_delete(role: str) -> Call[AuthRoleDeleteResponse]:
    """Describe the RoleDelete RPC (a change).

    Args:
        role: the role name.

    Returns:
        The call.

    Raises:
        ArgumentTypeError: ``role`` is not a str.
    """
    request = _pb.rpc.AuthRoleDeleteRequest(role=_role(role))
    return Call("auth", "RoleDelete", request, AuthRoleDeleteResponse)


def role_grant_permission(
    role: str,
    key: KeyLike,
    perm_type: PermissionType,
    range_end: KeyLike | None,
    prefix: bool,
    from_key: bool,
) -> Call[AuthRoleGrantPermissionResponse]:
    """Describe the RoleGrantPermission RPC (a change).

    The range is computed as a get's (the empty key with ``prefix`` or ``from_key`` is every
    key).

    Args:
        role: the role name.
        key: the key, or the start of the range.
        perm_type: what the permission allows.
        range_end: cover ``[key, range_end)``.
        prefix: cover every key starting with ``key``.
        from_key: cover every key ``>= key``.

    Returns:
        The call.

    Raises:
        EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
        InvalidArgumentError: conflicting range options or an unknown ``perm_type``.
        ArgumentTypeError: an argument of the wrong type.
    """
    raw, end = _perm_range(key, range_end, prefix, from_key)
    perm = _pb.auth.Permission(key=raw, range_end=end)
    perm.permType = _perm_type(perm_type)  # type: ignore[assignment]
    request = _pb.rpc.AuthRoleGrantPermissionRequest(name=_role(role), perm=perm)
    return Call("auth", "RoleGrantPermission", request, AuthRoleGrantPermissionResponse)


def role_revoke_permission(
    role: str, key: KeyLike, range_end: KeyLike | None, prefix: bool, from_key: bool
) -> Call[AuthRoleRevokePermissionResponse]:
    """Describe the RoleRevokePermission RPC (a change).

    Args:
        role: the role name.
        key: the key, or the start of the range.
        range_end: the range end it was granted with.
        prefix: it was granted with ``prefix=True``.
        from_key: it was granted with ``from_key=True``.

    Returns:
        The call.

    Raises:
        EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
        InvalidArgumentError: conflicting range options.
        ArgumentTypeError: an argument of the wrong type.
    """
    raw, end = _perm_range(key, range_end, prefix, from_key)
    request = _pb.rpc.AuthRoleRevokePermissionRequest(role=_role(role), key=raw, range_end=end)
    return Call("auth", "RoleRevokePermission", request, AuthRoleRevokePermissionResponse)
