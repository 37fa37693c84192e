"""The Auth concern: enabling auth, users, roles and key-range permissions (clientv3 ``auth.go``).

Owns :class:`Auth`, what ``client.auth`` is. The response views, :class:`Permission` and
:class:`PermissionType` (defined in :mod:`etcd3py._auth_views`) are re-exported here. Each
method runs, on the client's transport, the description of its RPC in
:mod:`etcd3py._calls.auth` (request, checks, retry class, view): reads (``auth_status``,
``user_get``, ``user_list``, ``role_get``, ``role_list``) are retried as safe, changes are
not. Names and key ranges are checked before anything is sent. The client's own
credentials (``username=``, ``password=``), its token and the token refresh live in
:mod:`etcd3py._transport`.

Example::

    client.user_add("root", "rootpw")
    client.role_add("root")
    client.user_grant_role("root", "root")
    client.role_add("reader")
    client.role_grant_permission("reader", "/app/", PermissionType.READ, prefix=True)
    client.auth_enable()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    Permission,
    PermissionType,
)
from etcd3py._calls import auth as calls
from etcd3py._keys import KeyLike
from etcd3py.context import Context

if TYPE_CHECKING:
    from etcd3py._transport import Transport

__all__ = [
    "Auth",
    "AuthDisableResponse",
    "AuthEnableResponse",
    "AuthRoleAddResponse",
    "AuthRoleDeleteResponse",
    "AuthRoleGetResponse",
    "AuthRoleGrantPermissionResponse",
    "AuthRoleListResponse",
    "AuthRoleRevokePermissionResponse",
    "AuthStatusResponse",
    "AuthUserAddResponse",
    "AuthUserChangePasswordResponse",
    "AuthUserDeleteResponse",
    "AuthUserGetResponse",
    "AuthUserGrantRoleResponse",
    "AuthUserListResponse",
    "AuthUserRevokeRoleResponse",
    "AuthenticateResponse",
    "Permission",
    "PermissionType",
]


class Auth:
    """Authentication and role-based access control, as clientv3's ``Auth`` interface.

    Every method takes ``timeout=`` (seconds for the call, retries included) and ``ctx=``
    (a :class:`~etcd3py.Context`: the nearer deadline bounds the call, cancelling it from any
    thread aborts the call in flight with ``CanceledError``, a ctx already ended sends
    nothing, and its metadata goes with the request), and raises the typed error etcd
    answers with (see :mod:`etcd3py.errors`); on a cluster with auth enabled, every method
    but :meth:`authenticate` needs a client authenticated as a user with the ``root`` role
    (else ``PermissionDeniedError``). A ``ctx`` that is not a ``Context`` is an
    ``ArgumentTypeError``, raised before anything is sent.
    """

    def __init__(self, transport: Transport) -> None:
        """Serve auth calls through ``transport``.

        Args:
            transport: the client's transport.
        """
        self._transport = transport

    # ---- enabling --------------------------------------------------------------------------

    def auth_enable(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthEnableResponse:
        """Enable authentication (a no-op when it is already enabled).

        Args:
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            RootUserNotExistError: there is no ``root`` user.
            RootRoleNotExistError: the ``root`` user lacks the ``root`` role.
        """
        return self._transport.run(calls.auth_enable(), timeout=timeout, ctx=ctx)

    def auth_disable(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthDisableResponse:
        """Disable authentication (a no-op when it is already disabled).

        Every token is dropped; a client with credentials gets a new one by itself if auth
        is enabled again.

        Args:
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            PermissionDeniedError: the client's user lacks the ``root`` role.
        """
        return self._transport.run(calls.auth_disable(), timeout=timeout, ctx=ctx)

    def auth_status(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthStatusResponse:
        """Say whether authentication is enabled, and the auth store's revision.

        Args:
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.enabled`` and ``.auth_revision``.
        """
        return self._transport.run(calls.auth_status(), timeout=timeout, ctx=ctx)

    def authenticate(
        self, name: str, password: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthenticateResponse:
        """Check a user's password and get a token for it.

        The client does this by itself when built with ``username=``/``password=``; call it
        to check credentials or to hand a token to another program.

        Args:
            name: the user name.
            password: the user's password.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.token``.

        Raises:
            AuthFailedError: unknown user, wrong password, or a user without a password.
            AuthNotEnabledError: authentication is not enabled.
        """
        return self._transport.run(calls.authenticate(name, password), timeout=timeout, ctx=ctx)

    # ---- users -----------------------------------------------------------------------------

    def user_add(
        self,
        name: str,
        password: str | None = None,
        *,
        no_password: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> AuthUserAddResponse:
        """Add a user, with a password or (``no_password=True``) one that logs in by TLS only.

        Args:
            name: the user name.
            password: its password (required unless ``no_password``).
            no_password: add a user without a password; it can only authenticate with a
                client certificate whose common name is ``name``.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            UserEmptyError: ``name`` is empty.
            UserAlreadyExistError: the user exists.
            InvalidArgumentError: no password and no ``no_password``, or both.
        """
        return self._transport.run(
            calls.user_add(name, password, no_password), timeout=timeout, ctx=ctx
        )

    def user_get(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserGetResponse:
        """Get a user's roles.

        Args:
            name: the user name.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.roles``.

        Raises:
            UserNotFoundError: there is no such user.
        """
        return self._transport.run(calls.user_get(name), timeout=timeout, ctx=ctx)

    def user_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserListResponse:
        """List every user.

        Args:
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.users``, sorted.
        """
        return self._transport.run(calls.user_list(), timeout=timeout, ctx=ctx)

    def user_delete(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserDeleteResponse:
        """Delete a user.

        Args:
            name: the user name.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            UserNotFoundError: there is no such user.
            InvalidAuthMgmtError: deleting ``root`` while auth is enabled.
        """
        return self._transport.run(calls.user_delete(name), timeout=timeout, ctx=ctx)

    def user_change_password(
        self, name: str, password: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserChangePasswordResponse:
        """Change a user's password (its tokens stay valid until they expire).

        Args:
            name: the user name.
            password: the new password.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            UserNotFoundError: there is no such user.
        """
        return self._transport.run(
            calls.user_change_password(name, password), timeout=timeout, ctx=ctx
        )

    def user_grant_role(
        self, user: str, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserGrantRoleResponse:
        """Grant a role to a user (granting one it has is a no-op).

        Args:
            user: the user name.
            role: the role name (``root`` need not exist to be granted).
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            UserNotFoundError: there is no such user.
            RoleNotFoundError: there is no such role.
        """
        return self._transport.run(calls.user_grant_role(user, role), timeout=timeout, ctx=ctx)

    def user_revoke_role(
        self, name: str, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserRevokeRoleResponse:
        """Revoke a role from a user.

        Args:
            name: the user name.
            role: the role name.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            UserNotFoundError: there is no such user.
            RoleNotGrantedError: the user does not have the role.
            InvalidAuthMgmtError: revoking ``root`` from ``root`` while auth is enabled.
        """
        return self._transport.run(calls.user_revoke_role(name, role), timeout=timeout, ctx=ctx)

    # ---- roles -----------------------------------------------------------------------------

    def role_add(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleAddResponse:
        """Add a role, with no permission yet.

        Args:
            name: the role name.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            RoleEmptyError: ``name`` is empty.
            RoleAlreadyExistError: the role exists.
        """
        return self._transport.run(calls.role_add(name), timeout=timeout, ctx=ctx)

    def role_get(
        self, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleGetResponse:
        """Get a role's permissions.

        Args:
            role: the role name.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.perms``, sorted by key.

        Raises:
            RoleNotFoundError: there is no such role.
        """
        return self._transport.run(calls.role_get(role), timeout=timeout, ctx=ctx)

    def role_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleListResponse:
        """List every role.

        Args:
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.roles``, sorted.
        """
        return self._transport.run(calls.role_list(), timeout=timeout, ctx=ctx)

    def role_delete(
        self, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleDeleteResponse:
        """Delete a role (and revoke it from every user).

        Args:
            role: the role name.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            RoleNotFoundError: there is no such role.
            InvalidAuthMgmtError: deleting ``root`` while auth is enabled.
        """
        return self._transport.run(calls.role_delete(role), timeout=timeout, ctx=ctx)

    def role_grant_permission(
        self,
        role: str,
        key: KeyLike,
        perm_type: PermissionType,
        *,
        range_end: KeyLike | None = None,
        prefix: bool = False,
        from_key: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> AuthRoleGrantPermissionResponse:
        """Let a role read, write or both on a key, a prefix or a range.

        Granting again over the same key and range end replaces the permission's type.

        Args:
            role: the role name.
            key: the key, or the start of the range (``str`` is encoded UTF-8).
            perm_type: what the permission allows.
            range_end: cover ``[key, range_end)``.
            prefix: cover every key starting with ``key`` (the empty key: every key).
            from_key: cover every key ``>= key`` (the empty key: every key).
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            RoleNotFoundError: there is no such role.
            EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
            InvalidArgumentError: conflicting range options or an unknown ``perm_type``.
            ArgumentTypeError: an argument of the wrong type.
        """
        return self._transport.run(
            calls.role_grant_permission(role, key, perm_type, range_end, prefix, from_key),
            timeout=timeout,
            ctx=ctx,
        )

    def role_revoke_permission(
        self,
        role: str,
        key: KeyLike,
        *,
        range_end: KeyLike | None = None,
        prefix: bool = False,
        from_key: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> AuthRoleRevokePermissionResponse:
        """Take back the permission a role has over exactly this key and range.

        The key and range options must be those the permission was granted with.

        Args:
            role: the role name.
            key: the key, or the start of the range.
            range_end: the range end it was granted with.
            prefix: it was granted with ``prefix=True``.
            from_key: it was granted with ``from_key=True``.
            timeout: seconds for the call, retries included.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.

        Raises:
            RoleNotFoundError: there is no such role.
            PermissionNotGrantedError: the role has no permission over that exact range.
            EmptyKeyError: an empty key without ``prefix`` or ``from_key``.
            InvalidArgumentError: conflicting range options.
            ArgumentTypeError: an argument of the wrong type.
        """
        return self._transport.run(
            calls.role_revoke_permission(role, key, range_end, prefix, from_key),
            timeout=timeout,
            ctx=ctx,
        )
