"""The ``Client`` methods that forward to ``client.auth``."""

from __future__ import annotations

from etcd3py._keys import KeyLike
from etcd3py.auth import (
    Auth,
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
from etcd3py.context import Context

__all__ = ["AuthMethods"]


class AuthMethods:
    """The Auth methods of a client.

    Each method looks ``self.auth`` up on every call, so replacing ``client.auth`` changes
    what it does, as in clientv3. Arguments and errors are those of :class:`etcd3py.auth.Auth`.
    """

    auth: Auth

    def auth_enable(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthEnableResponse:
        """Enable authentication: ``client.auth.auth_enable``.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.auth_enable(timeout=timeout, ctx=ctx)

    def auth_disable(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthDisableResponse:
        """Disable authentication: ``client.auth.auth_disable``.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.auth_disable(timeout=timeout, ctx=ctx)

    def auth_status(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthStatusResponse:
        """Whether authentication is enabled: ``client.auth.auth_status``.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.enabled`` and ``.auth_revision``.
        """
        return self.auth.auth_status(timeout=timeout, ctx=ctx)

    def authenticate(
        self, name: str, password: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthenticateResponse:
        """Get a token for a user: ``client.auth.authenticate``.

        Args:
            name: the user name.
            password: the user's password.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.token``.
        """
        return self.auth.authenticate(name, password, timeout=timeout, ctx=ctx)

    def user_add(
        self,
        name: str,
        password: str | None = None,
        *,
        no_password: bool = False,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> AuthUserAddResponse:
        """Add a user: ``client.auth.user_add``.

        Args:
            name: the user name.
            password: its password (required unless ``no_password``).
            no_password: add a user that can authenticate by TLS certificate only.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.user_add(name, password, no_password=no_password, timeout=timeout, ctx=ctx)

    def user_get(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserGetResponse:
        """Get a user's roles: ``client.auth.user_get``.

        Args:
            name: the user name.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.roles``.
        """
        return self.auth.user_get(name, timeout=timeout, ctx=ctx)

    def user_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserListResponse:
        """List every user: ``client.auth.user_list``.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.users``.
        """
        return self.auth.user_list(timeout=timeout, ctx=ctx)

    def user_delete(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserDeleteResponse:
        """Delete a user: ``client.auth.user_delete``.

        Args:
            name: the user name.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.user_delete(name, timeout=timeout, ctx=ctx)

    def user_change_password(
        self, name: str, password: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserChangePasswordResponse:
        """Change a user's password: ``client.auth.user_change_password``.

        Args:
            name: the user name.
            password: the new password.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.user_change_password(name, password, timeout=timeout, ctx=ctx)

    def user_grant_role(
        self, user: str, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserGrantRoleResponse:
        """Grant a role to a user: ``client.auth.user_grant_role``.

        Args:
            user: the user name.
            role: the role name.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.user_grant_role(user, role, timeout=timeout, ctx=ctx)

    def user_revoke_role(
        self, name: str, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthUserRevokeRoleResponse:
        """Revoke a role from a user: ``client.auth.user_revoke_role``.

        Args:
            name: the user name.
            role: the role name.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.user_revoke_role(name, role, timeout=timeout, ctx=ctx)

    def role_add(
        self, name: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleAddResponse:
        """Add a role: ``client.auth.role_add``.

        Args:
            name: the role name.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.role_add(name, timeout=timeout, ctx=ctx)

    def role_get(
        self, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleGetResponse:
        """Get a role's permissions: ``client.auth.role_get``.

        Args:
            role: the role name.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.perms``.
        """
        return self.auth.role_get(role, timeout=timeout, ctx=ctx)

    def role_list(
        self, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleListResponse:
        """List every role: ``client.auth.role_list``.

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            ``.roles``.
        """
        return self.auth.role_list(timeout=timeout, ctx=ctx)

    def role_delete(
        self, role: str, *, timeout: float | None = None, ctx: Context | None = None
    ) -> AuthRoleDeleteResponse:
        """Delete a role: ``client.auth.role_delete``.

        Args:
            role: the role name.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.role_delete(role, timeout=timeout, ctx=ctx)

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
        """Give a role a permission: ``client.auth.role_grant_permission``.

        Args:
            role: the role name.
            key: the key, or the start of the range.
            perm_type: what the permission allows.
            range_end: cover ``[key, range_end)``.
            prefix: cover every key starting with ``key``.
            from_key: cover every key ``>= key``.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.role_grant_permission(
            role,
            key,
            perm_type,
            range_end=range_end,
            prefix=prefix,
            from_key=from_key,
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
        """Take back a role's permission: ``client.auth.role_revoke_permission``.

        Args:
            role: the role name.
            key: the key, or the start of the range.
            range_end: the range end it was granted with.
            prefix: it was granted with ``prefix=True``.
            from_key: it was granted with ``from_key=True``.
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response.
        """
        return self.auth.role_revoke_permission(
            role,
            key,
            range_end=range_end,
            prefix=prefix,
            from_key=from_key,
            timeout=timeout,
            ctx=ctx,
        )
