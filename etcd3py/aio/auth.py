"""The asyncio face's Auth concern: auth, users, roles and permissions, awaited.

See :mod:`etcd3py.auth`: each method awaits the description of its RPC in
:mod:`etcd3py._calls.auth` (request, checks, retry class, view) on the asyncio transport;
names and key ranges are checked before anything is sent; the views and errors are the sync
face's. The client's own credentials and the token refresh live in
:mod:`etcd3py._aio_transport`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcd3py import auth as _sync
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
from etcd3py._auth_views import Permission as Permission
from etcd3py._calls import auth as calls
from etcd3py._keys import KeyLike
from etcd3py.context import Context

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport

__all__ = list(_sync.__all__)  # the same names: the class, and the views it answers with


class Auth:
    """Authentication and role-based access control, awaited; see :class:`etcd3py.auth.Auth`."""

    def __init__(self, transport: AioTransport) -> None:
        """Serve auth calls through ``transport``.

        Args:
            transport: the asyncio client's transport.
        """
        self._transport = transport

    async def auth_enable(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthEnableResponse:
        """Enable authentication (a no-op when it is already enabled).

        See :meth:`etcd3py.auth.Auth.auth_enable`.
        """
        return await self._transport.run(calls.auth_enable(), timeout=timeout, ctx=ctx)

    async def auth_disable(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthDisableResponse:
        """Disable authentication (a no-op when it is already disabled).

        See :meth:`etcd3py.auth.Auth.auth_disable`.
        """
        return await self._transport.run(calls.auth_disable(), timeout=timeout, ctx=ctx)

    async def auth_status(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthStatusResponse:
        """Say whether authentication is enabled, and the auth store's revision.

        See :meth:`etcd3py.auth.Auth.auth_status`.
        """
        return await self._transport.run(calls.auth_status(), timeout=timeout, ctx=ctx)

    async def authenticate(
        self, name: str, password: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthenticateResponse:
        """Check a user's password and get a token for it.

        See :meth:`etcd3py.auth.Auth.authenticate`.
        """
        return await self._transport.run(
            calls.authenticate(name, password), timeout=timeout, ctx=ctx
        )

    async def user_add(
        self,
        name: str,
        password: str | None = None,
        *,
        no_password: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> AuthUserAddResponse:
        """Add a user, with a password or (``no_password=True``) one that logs in by TLS only.

        See :meth:`etcd3py.auth.Auth.user_add`.
        """
        return await self._transport.run(
            calls.user_add(name, password, no_password), timeout=timeout, ctx=ctx
        )

    async def user_get(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserGetResponse:
        """Get a user's roles; see :meth:`etcd3py.auth.Auth.user_get`."""
        return await self._transport.run(calls.user_get(name), timeout=timeout, ctx=ctx)

    async def user_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserListResponse:
        """List every user; see :meth:`etcd3py.auth.Auth.user_list`."""
        return await self._transport.run(calls.user_list(), timeout=timeout, ctx=ctx)

    async def user_delete(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserDeleteResponse:
        """Delete a user; see :meth:`etcd3py.auth.Auth.user_delete`."""
        return await self._transport.run(calls.user_delete(name), timeout=timeout, ctx=ctx)

    async def user_change_password(
        self, name: str, password: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserChangePasswordResponse:
        """Change a user's password (its tokens stay valid until they expire).

        See :meth:`etcd3py.auth.Auth.user_change_password`.
        """
        return await self._transport.run(
            calls.user_change_password(name, password), timeout=timeout, ctx=ctx
        )

    async def user_grant_role(
        self, user: str, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserGrantRoleResponse:
        """Grant a role to a user (granting one it has is a no-op).

        See :meth:`etcd3py.auth.Auth.user_grant_role`.
        """
        return await self._transport.run(
            calls.user_grant_role(user, role), timeout=timeout, ctx=ctx
        )

    async def user_revoke_role(
        self, name: str, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserRevokeRoleResponse:
        """Revoke a role from a user; see :meth:`etcd3py.auth.Auth.user_revoke_role`."""
        return await self._transport.run(
            calls.user_revoke_role(name, role), timeout=timeout, ctx=ctx
        )

    async def role_add(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleAddResponse:
        """Add a role, with no permission yet; see :meth:`etcd3py.auth.Auth.role_add`."""
        return await self._transport.run(calls.role_add(name), timeout=timeout, ctx=ctx)

    async def role_get(
        self, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleGetResponse:
        """Get a role's permissions; see :meth:`etcd3py.auth.Auth.role_get`."""
        return await self._transport.run(calls.role_get(role), timeout=timeout, ctx=ctx)

    async def role_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleListResponse:
        """List every role; see :meth:`etcd3py.auth.Auth.role_list`."""
        return await self._transport.run(calls.role_list(), timeout=timeout, ctx=ctx)

    async def role_delete(
        self, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleDeleteResponse:
        """Delete a role (and revoke it from every user).

        See :meth:`etcd3py.auth.Auth.role_delete`.
        """
        return await self._transport.run(calls.role_delete(role), timeout=timeout, ctx=ctx)

    async def role_grant_permission(
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

        See :meth:`etcd3py.auth.Auth.role_grant_permission`.
        """
        return await self._transport.run(
            calls.role_grant_permission(role, key, perm_type, range_end, prefix, from_key),
            timeout=timeout,
            ctx=ctx,
        )

    async def role_revoke_permission(
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

        See :meth:`etcd3py.auth.Auth.role_revoke_permission`.
        """
        return await self._transport.run(
            calls.role_revoke_permission(role, key, range_end, prefix, from_key),
            timeout=timeout,
            ctx=ctx,
        )
