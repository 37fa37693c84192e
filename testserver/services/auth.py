"""The Auth service of the reference server, as etcd 3.5.1's ``v3rpc/auth.go`` over raft.

Every call but Authenticate is a raft request in etcd: the call's token is checked first
(``InvalidAuthTokenError``, even while auth is disabled), then one raft index is used, then
the admin check (``IsAdminPermitted``; UserGet of oneself and RoleGet of one's own role are
allowed without it), then the store. AuthStatus needs the admin check too. Authenticate
checks the password, then uses a raft index that becomes the token's suffix; it ignores any
token the call carries. Every response has the full header at the current KV revision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from etcd3py import _pb, _stubs
from etcd3py.errors import EtcdError
from testserver.auth.store import AuthInfo, Perm
from testserver.services._base import ServerState, auth_info, serve_unary

__all__ = ["AuthService"]

_rpc = _pb.rpc

if TYPE_CHECKING:  # for annotations only: nothing subscripts grpc types at run time
    import grpc

    _Ctx = grpc.aio.ServicerContext[object, object]


class _WithHeader(Protocol):
    @property
    def header(self) -> _pb.rpc.ResponseHeader: ...


R = TypeVar("R", bound=_WithHeader)


class AuthService(_stubs.rpc_grpc.AuthServicer):
    """etcd's Auth service over the server's auth store.

    Args:
        state: the server state (auth store, header, raft index).
    """

    def __init__(self, state: ServerState) -> None:
        self._state = state

    async def _raft(
        self,
        context: _Ctx,
        op: Callable[[AuthInfo | None], R],
        *,
        admin: Callable[[AuthInfo | None], bool] | None = None,
    ) -> R:
        """Serve one raft-backed auth call: token, raft index, admin check, ``op``, header.

        ``admin`` decides, given the caller, whether the admin check is skipped (UserGet of
        oneself, RoleGet of one's own role); without it the check is always made.
        """
        st = self._state

        def run() -> R:
            info = auth_info(st, context)
            st.raft_index += 1
            try:
                st.auth.check_admin(info)
            except EtcdError:
                if admin is None or not admin(info):
                    raise
            resp = op(info)
            st.header.fill(resp.header)
            return resp

        return await serve_unary(st, context, run)

    async def AuthEnable(
        self, request: _pb.rpc.AuthEnableRequest, context: _Ctx
    ) -> _pb.rpc.AuthEnableResponse:
        """Enable auth (needs a ``root`` user with the ``root`` role)."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthEnableResponse:
            self._state.auth.enable()
            return _rpc.AuthEnableResponse()

        return await self._raft(context, op)

    async def AuthDisable(
        self, request: _pb.rpc.AuthDisableRequest, context: _Ctx
    ) -> _pb.rpc.AuthDisableResponse:
        """Disable auth, invalidating every token."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthDisableResponse:
            self._state.auth.disable()
            return _rpc.AuthDisableResponse()

        return await self._raft(context, op)

    async def AuthStatus(
        self, request: _pb.rpc.AuthStatusRequest, context: _Ctx
    ) -> _pb.rpc.AuthStatusResponse:
        """Report whether auth is enabled, and the auth revision (admin only when enabled)."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthStatusResponse:
            a = self._state.auth
            return _rpc.AuthStatusResponse(enabled=a.enabled, authRevision=a.revision)

        return await self._raft(context, op)

    async def Authenticate(
        self, request: _pb.rpc.AuthenticateRequest, context: _Ctx
    ) -> _pb.rpc.AuthenticateResponse:
        """Check a user's password and answer a new simple token."""
        st = self._state

        def run() -> _pb.rpc.AuthenticateResponse:
            st.auth.check_password(request.name, request.password)
            st.raft_index += 1
            token = st.auth.authenticate(request.name, request.password, st.raft_index)
            resp = _rpc.AuthenticateResponse(token=token)
            st.header.fill(resp.header)
            return resp

        return await serve_unary(st, context, run)

    # ---- users -----------------------------------------------------------------------------

    async def UserAdd(
        self, request: _pb.rpc.AuthUserAddRequest, context: _Ctx
    ) -> _pb.rpc.AuthUserAddResponse:
        """Add a user (``options.no_password`` for one without a password)."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthUserAddResponse:
            no_password = request.HasField("options") and request.options.no_password
            self._state.auth.user_add(request.name, request.password, no_password)
            return _rpc.AuthUserAddResponse()

        return await self._raft(context, op)

    async def UserGet(
        self, request: _pb.rpc.AuthUserGetRequest, context: _Ctx
    ) -> _pb.rpc.AuthUserGetResponse:
        """Answer a user's roles (a user may get itself without the root role)."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthUserGetResponse:
            return _rpc.AuthUserGetResponse(roles=self._state.auth.user_get(request.name))

        def is_self(info: AuthInfo | None) -> bool:
            return request.name == (info.username if info is not None else "")

        return await self._raft(context, op, admin=is_self)

    async def UserList(
        self, request: _pb.rpc.AuthUserListRequest, context: _Ctx
    ) -> _pb.rpc.AuthUserListResponse:
        """List every user, sorted."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthUserListResponse:
            return _rpc.AuthUserListResponse(users=self._state.auth.user_list())

        return await self._raft(context, op)

    async def UserDelete(
        self, request: _pb.rpc.AuthUserDeleteRequest, context: _Ctx
    ) -> _pb.rpc.AuthUserDeleteResponse:
        """Delete a user (not ``root`` while auth is enabled)."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthUserDeleteResponse:
            self._state.auth.user_delete(request.name)
            return _rpc.AuthUserDeleteResponse()

        return await self._raft(context, op)

    async def UserChangePassword(
        self, request: _pb.rpc.AuthUserChangePasswordRequest, context: _Ctx
    ) -> _pb.rpc.AuthUserChangePasswordResponse:
        """Change a user's password; its tokens become invalid."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthUserChangePasswordResponse:
            self._state.auth.user_change_password(
                request.name, request.password, request.hashedPassword
            )
            return _rpc.AuthUserChangePasswordResponse()

        return await self._raft(context, op)

    async def UserGrantRole(
        self, request: _pb.rpc.AuthUserGrantRoleRequest, context: _Ctx
    ) -> _pb.rpc.AuthUserGrantRoleResponse:
        """Grant a role to a user."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthUserGrantRoleResponse:
            self._state.auth.user_grant_role(request.user, request.role)
            return _rpc.AuthUserGrantRoleResponse()

        return await self._raft(context, op)

    async def UserRevokeRole(
        self, request: _pb.rpc.AuthUserRevokeRoleRequest, context: _Ctx
    ) -> _pb.rpc.AuthUserRevokeRoleResponse:
        """Revoke a role from a user."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthUserRevokeRoleResponse:
            self._state.auth.user_revoke_role(request.name, request.role)
            return _rpc.AuthUserRevokeRoleResponse()

        return await self._raft(context, op)

    # ---- roles -----------------------------------------------------------------------------

    async def RoleAdd(
        self, request: _pb.rpc.AuthRoleAddRequest, context: _Ctx
    ) -> _pb.rpc.AuthRoleAddResponse:
        """Add a role."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthRoleAddResponse:
            self._state.auth.role_add(request.name)
            return _rpc.AuthRoleAddResponse()

        return await self._raft(context, op)

    async def RoleGet(
        self, request: _pb.rpc.AuthRoleGetRequest, context: _Ctx
    ) -> _pb.rpc.AuthRoleGetResponse:
        """Answer a role's permissions (a user may get its own roles without root)."""
        auth = self._state.auth

        def op(_: AuthInfo | None) -> _pb.rpc.AuthRoleGetResponse:
            perms = [
                _pb.auth.Permission(permType=p.perm_type, key=p.key, range_end=p.range_end)  # type: ignore[arg-type]
                for p in auth.role_get(request.role)
            ]
            return _rpc.AuthRoleGetResponse(perm=perms)

        def has_it(info: AuthInfo | None) -> bool:
            return auth.has_role(info.username if info is not None else "", request.role)

        return await self._raft(context, op, admin=has_it)

    async def RoleList(
        self, request: _pb.rpc.AuthRoleListRequest, context: _Ctx
    ) -> _pb.rpc.AuthRoleListResponse:
        """List every role, sorted."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthRoleListResponse:
            return _rpc.AuthRoleListResponse(roles=self._state.auth.role_list())

        return await self._raft(context, op)

    async def RoleDelete(
        self, request: _pb.rpc.AuthRoleDeleteRequest, context: _Ctx
    ) -> _pb.rpc.AuthRoleDeleteResponse:
        """Delete a role (not ``root`` while auth is enabled), revoking it from every user."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthRoleDeleteResponse:
            self._state.auth.role_delete(request.role)
            return _rpc.AuthRoleDeleteResponse()

        return await self._raft(context, op)

    async def RoleGrantPermission(
        self, request: _pb.rpc.AuthRoleGrantPermissionRequest, context: _Ctx
    ) -> _pb.rpc.AuthRoleGrantPermissionResponse:
        """Grant (or change the type of) a key-range permission."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthRoleGrantPermissionResponse:
            perm = None
            if request.HasField("perm"):
                p = request.perm
                perm = Perm(bytes(p.key), bytes(p.range_end), int(p.permType))
            self._state.auth.role_grant_permission(request.name, perm)
            return _rpc.AuthRoleGrantPermissionResponse()

        return await self._raft(context, op)

    async def RoleRevokePermission(
        self, request: _pb.rpc.AuthRoleRevokePermissionRequest, context: _Ctx
    ) -> _pb.rpc.AuthRoleRevokePermissionResponse:
        """Revoke the role's permission on exactly (key, range_end)."""

        def op(_: AuthInfo | None) -> _pb.rpc.AuthRoleRevokePermissionResponse:
            self._state.auth.role_revoke_permission(request.role, request.key, request.range_end)
            return _rpc.AuthRoleRevokePermissionResponse()

        return await self._raft(context, op)
