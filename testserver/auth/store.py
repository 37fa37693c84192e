"""The auth store of the reference server, as etcd 3.5.1's ``auth/store.go``.

It owns users (hashed passwords, sorted roles, the ``no_password`` option), roles (key-range
permissions sorted by key), the enabled flag, the auth revision (1 on a fresh store, one more
per change: user and role changes and AuthDisable; AuthEnable and Authenticate leave it) and
the simple tokens. Every method raises etcd's errors (:mod:`etcd3py.errors`) with etcd's codes
and messages, including the few etcd 3.5.1 lets through unconverted as ``UNKNOWN`` with the
raw ``auth: ...`` text (Authenticate of a no-password user; the admin check of Hash, HashKV,
Defragment and Snapshot: see :func:`raw_errors`).

Permission checks follow ``isOpPermitted``: nothing is checked while auth is disabled; a
request without a user is ``UserEmptyError``; users with the ``root`` role may do anything;
others need their roles' intervals to cover the request (:mod:`testserver.auth.perms`).
The root role needs no role record: granting ``root`` to a user works without ``RoleAdd``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from etcd3py import _pb
from etcd3py.errors import (
    AuthFailedError,
    AuthNotEnabledError,
    EtcdError,
    InvalidAuthMgmtError,
    InvalidAuthTokenError,
    PermissionDeniedError,
    PermissionNotGivenError,
    PermissionNotGrantedError,
    RoleAlreadyExistError,
    RoleEmptyError,
    RoleNotFoundError,
    RoleNotGrantedError,
    RootRoleNotExistError,
    RootUserNotExistError,
    UnknownError,
    UserAlreadyExistError,
    UserEmptyError,
    UserNotFoundError,
)
from testserver.auth import passwords
from testserver.auth.perms import Interval, covers, permission_interval
from testserver.auth.tokens import SimpleTokens

__all__ = [
    "AuthInfo",
    "AuthStore",
    "Perm",
    "READ",
    "READWRITE",
    "ROOT",
    "Role",
    "User",
    "WRITE",
    "permission_denied",
    "raw_errors",
]

#: the name of the root user and of the root role.
ROOT = "root"
#: the permission types (``authpb.Permission.Type``).
READ = _pb.auth.Permission.READ
WRITE = _pb.auth.Permission.WRITE
READWRITE = _pb.auth.Permission.READWRITE

_PERMISSION_DENIED = "etcdserver: permission denied"
_NO_PASSWORD_USER = "auth: authentication failed, password was given for no password user"


def permission_denied() -> PermissionDeniedError:
    """Return etcd's ``PERMISSION_DENIED`` error (its family class carries no message)."""
    return PermissionDeniedError(_PERMISSION_DENIED)


@dataclass(frozen=True, slots=True)
class AuthInfo:
    """Who sent a request: etcd's ``AuthInfo`` (revision 0 means no user).

    Attributes:
        username: the user's name ("" for none).
        revision: the auth revision when the token was checked.
    """

    username: str = ""
    revision: int = 0


@dataclass(slots=True)
class Perm:
    """One key-range permission of a role.

    Attributes:
        key: the first key.
        range_end: the range end (empty: the one key; ``b"\\0"``: every key from ``key``).
        perm_type: READ, WRITE or READWRITE (``authpb.Permission.Type``).
    """

    key: bytes
    range_end: bytes
    perm_type: int


@dataclass(slots=True)
class User:
    """A user.

    Attributes:
        name: the name.
        password: the stored password hash (None for a no-password user).
        roles: the granted roles, sorted.
        no_password: the ``UserAddOptions.no_password`` flag.
    """

    name: str
    password: bytes | None
    roles: list[str] = field(default_factory=list)
    no_password: bool = False


@dataclass(slots=True)
class Role:
    """A role: its permissions, sorted by key.

    Attributes:
        name: the name.
        perms: the permissions.
    """

    name: str
    perms: list[Perm] = field(default_factory=list)


def _sorted_names(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda n: n.encode())


class AuthStore:
    """Users, roles, permissions, the enabled flag, the auth revision and the tokens.

    Args:
        tokens: the simple-token registry (a default one with etcd's 300 s TTL if omitted).
    """

    def __init__(self, tokens: SimpleTokens | None = None) -> None:
        self.tokens = tokens if tokens is not None else SimpleTokens()
        self.enabled = False
        self.revision = 1
        self.users: dict[str, User] = {}
        self.roles: dict[str, Role] = {}

    # ---- enable, disable, tokens -----------------------------------------------------------

    def enable(self) -> None:
        """Turn auth on (a no-op if on); the revision is kept.

        Raises:
            RootUserNotExistError: there is no ``root`` user.
            RootRoleNotExistError: the ``root`` user lacks the ``root`` role.
        """
        if self.enabled:
            return
        root = self.users.get(ROOT)
        if root is None:
            raise RootUserNotExistError()
        if ROOT not in root.roles:
            raise RootRoleNotExistError()
        self.enabled = True
        self.tokens.clear()

    def disable(self) -> None:
        """Turn auth off (a no-op if off), dropping every token; bumps the revision."""
        if not self.enabled:
            return
        self.revision += 1
        self.enabled = False
        self.tokens.clear()

    def check_password(self, name: str, password: str) -> None:
        """Check a user's password, as etcd's ``CheckPassword``.

        Raises:
            AuthNotEnabledError: auth is disabled.
            AuthFailedError: unknown user or wrong password.
            UnknownError: the user has no password (etcd's unconverted ``ErrNoPasswordUser``).
        """
        if not self.enabled:
            raise AuthNotEnabledError()
        user = self.users.get(name)
        if user is None:
            raise AuthFailedError()
        if user.no_password:
            raise UnknownError(_NO_PASSWORD_USER)
        if user.password is None or not passwords.verify(user.password, password):
            raise AuthFailedError()

    def authenticate(self, name: str, password: str, index: int) -> str:
        """Check the password and assign a new token.

        Args:
            name: the user.
            password: the password.
            index: the raft index the token carries.

        Returns:
            The token.

        Raises:
            EtcdError: as :meth:`check_password`.
        """
        self.check_password(name, password)
        return self.tokens.assign(name, index)

    def info_from_token(self, token: str) -> AuthInfo:
        """Resolve a request's token (resetting its TTL), as etcd's ``AuthInfoFromCtx``.

        Raises:
            InvalidAuthTokenError: unknown or expired token (any token while auth is disabled).
        """
        user = self.tokens.lookup(token)
        if user is None:
            raise InvalidAuthTokenError()
        return AuthInfo(user, self.revision)

    # ---- permission checks ----------------------------------------------------------------

    def check_admin(self, info: AuthInfo | None) -> None:
        """etcd's ``IsAdminPermitted``: the user must have the root role (if auth is on).

        Raises:
            UserEmptyError: no user.
            UserNotFoundError: the user is gone.
            PermissionDeniedError: the user is not root.
        """
        if not self.enabled:
            return
        if info is None or not info.username:
            raise UserEmptyError()
        user = self.users.get(info.username)
        if user is None:
            raise UserNotFoundError()
        if ROOT not in user.roles:
            raise permission_denied()

    def check_range(self, info: AuthInfo | None, key: bytes, range_end: bytes) -> None:
        """etcd's ``IsRangePermitted`` (READ over ``[key, range_end)``)."""
        self._check_op(info, key, range_end, READ)

    def check_put(self, info: AuthInfo | None, key: bytes) -> None:
        """etcd's ``IsPutPermitted`` (WRITE on ``key``)."""
        self._check_op(info, key, b"", WRITE)

    def check_delete(self, info: AuthInfo | None, key: bytes, range_end: bytes) -> None:
        """etcd's ``IsDeleteRangePermitted`` (WRITE over ``[key, range_end)``)."""
        self._check_op(info, key, range_end, WRITE)

    def _check_op(self, info: AuthInfo | None, key: bytes, end: bytes, want: int) -> None:
        if not self.enabled:
            return
        if info is None or info.revision == 0:
            raise UserEmptyError()
        user = self.users.get(info.username)
        if user is None:
            raise permission_denied()
        if ROOT in user.roles:
            return
        if not covers(self._intervals(user, want), key, end):
            raise permission_denied()

    def _intervals(self, user: User, want: int) -> list[Interval]:
        out: list[Interval] = []
        for name in user.roles:
            role = self.roles.get(name)
            for perm in role.perms if role is not None else ():
                if perm.perm_type == READWRITE or perm.perm_type == want:
                    out.append(permission_interval(perm.key, perm.range_end))
        return out

    # ---- users -----------------------------------------------------------------------------

    def user_add(self, name: str, password: str, no_password: bool) -> None:
        """Add a user (an empty password is allowed, as etcd's API does).

        Raises:
            UserEmptyError: empty name.
            UserAlreadyExistError: the name is taken.
        """
        if not name:
            raise UserEmptyError()
        if name in self.users:
            raise UserAlreadyExistError()
        stored = None if no_password else passwords.hash_password(password)
        self.users[name] = User(name, stored, no_password=no_password)
        self.revision += 1

    def user_get(self, name: str) -> list[str]:
        """Return a user's roles, sorted.

        Raises:
            UserNotFoundError: no such user.
        """
        return list(self._user(name).roles)

    def user_list(self) -> list[str]:
        """Return every user's name, sorted by bytes."""
        return _sorted_names(self.users)

    def user_delete(self, name: str) -> None:
        """Delete a user and its tokens.

        Raises:
            InvalidAuthMgmtError: deleting ``root`` while auth is enabled.
            UserNotFoundError: no such user.
        """
        if self.enabled and name == ROOT:
            raise InvalidAuthMgmtError()
        self._user(name)
        del self.users[name]
        self.revision += 1
        self.tokens.invalidate_user(name)

    def user_change_password(self, name: str, password: str, hashed: str) -> None:
        """Change a user's password (a no-password user keeps none) and drop its tokens.

        Raises:
            UserNotFoundError: no such user.
            UnknownError: ``hashed`` given and not base64 (etcd's raw ``ErrNoPasswordUser``).
        """
        user = self._user(name)
        if not user.no_password:
            user.password = self._new_password(password, hashed)
        self.revision += 1
        self.tokens.invalidate_user(name)

    @staticmethod
    def _new_password(password: str, hashed: str) -> bytes:
        # etcd hashes a given password; else it takes hashedPassword (empty: never matches)
        if password:
            return passwords.hash_password(password)
        try:
            return passwords.from_hashed(hashed)
        except ValueError:
            raise UnknownError(_NO_PASSWORD_USER) from None

    def user_grant_role(self, name: str, role: str) -> None:
        """Grant a role (``root`` needs no role record); granting it twice is a no-op.

        Raises:
            UserNotFoundError: no such user.
            RoleNotFoundError: no such role.
        """
        user = self._user(name)
        if role != ROOT and role not in self.roles:
            raise RoleNotFoundError()
        idx = bisect.bisect_left(user.roles, role)
        if idx < len(user.roles) and user.roles[idx] == role:
            return
        user.roles.insert(idx, role)
        self.revision += 1

    def user_revoke_role(self, name: str, role: str) -> None:
        """Revoke a role from a user.

        Raises:
            InvalidAuthMgmtError: revoking ``root`` from ``root`` while auth is enabled.
            UserNotFoundError: no such user.
            RoleNotGrantedError: the user does not have the role.
        """
        if self.enabled and name == ROOT and role == ROOT:
            raise InvalidAuthMgmtError()
        user = self._user(name)
        if role not in user.roles:
            raise RoleNotGrantedError()
        user.roles = [r for r in user.roles if r != role]
        self.revision += 1

    def has_role(self, name: str, role: str) -> bool:
        """Return whether user ``name`` exists and has ``role``."""
        user = self.users.get(name)
        return user is not None and role in user.roles

    def _user(self, name: str) -> User:
        user = self.users.get(name)
        if user is None:
            raise UserNotFoundError()
        return user

    # ---- roles -----------------------------------------------------------------------------

    def role_add(self, name: str) -> None:
        """Add a role.

        Raises:
            RoleEmptyError: empty name.
            RoleAlreadyExistError: the name is taken.
        """
        if not name:
            raise RoleEmptyError()
        if name in self.roles:
            raise RoleAlreadyExistError()
        self.roles[name] = Role(name)
        self.revision += 1

    def role_get(self, name: str) -> list[Perm]:
        """Return a role's permissions, sorted by key.

        Raises:
            RoleNotFoundError: no such role.
        """
        return list(self._role(name).perms)

    def role_list(self) -> list[str]:
        """Return every role's name, sorted by bytes."""
        return _sorted_names(self.roles)

    def role_delete(self, name: str) -> None:
        """Delete a role, revoking it from every user.

        Raises:
            InvalidAuthMgmtError: deleting ``root`` while auth is enabled.
            RoleNotFoundError: no such role.
        """
        if self.enabled and name == ROOT:
            raise InvalidAuthMgmtError()
        self._role(name)
        del self.roles[name]
        for user in self.users.values():
            if name in user.roles:
                user.roles = [r for r in user.roles if r != name]
        self.revision += 1

    def role_grant_permission(self, name: str, perm: Perm | None) -> None:
        """Grant a permission, or change the type of the same (key, range end) at its place.

        As etcd, only the first permission whose key is not below ``perm.key`` is looked at
        for the update; otherwise the permission is added and the list sorted by key.

        Raises:
            PermissionNotGivenError: ``perm`` is None.
            RoleNotFoundError: no such role.
        """
        if perm is None:
            raise PermissionNotGivenError()
        role = self._role(name)
        keys = [p.key for p in role.perms]
        idx = bisect.bisect_left(keys, perm.key)
        if idx < len(role.perms) and (role.perms[idx].key, role.perms[idx].range_end) == (
            perm.key,
            perm.range_end,
        ):
            role.perms[idx].perm_type = perm.perm_type
        else:
            role.perms.append(perm)
            role.perms.sort(key=lambda p: p.key)
        self.revision += 1

    def role_revoke_permission(self, name: str, key: bytes, range_end: bytes) -> None:
        """Revoke every permission of the role on exactly (key, range end).

        Raises:
            RoleNotFoundError: no such role.
            PermissionNotGrantedError: the role has no such permission.
        """
        role = self._role(name)
        kept = [p for p in role.perms if (p.key, p.range_end) != (key, range_end)]
        if len(kept) == len(role.perms):
            raise PermissionNotGrantedError()
        role.perms = kept
        self.revision += 1

    def _role(self, name: str) -> Role:
        role = self.roles.get(name)
        if role is None:
            raise RoleNotFoundError()
        return role


_RAW_MESSAGES: dict[type[EtcdError], str] = {
    UserEmptyError: "auth: user name is empty",
    UserNotFoundError: "auth: user not found",
    PermissionDeniedError: "auth: permission denied",
    InvalidAuthTokenError: "auth: invalid auth token",
}


def _raw_message(exc: EtcdError) -> str:
    """Return the ``auth: ...`` text etcd's auth store gives for an error before conversion."""
    return _RAW_MESSAGES.get(type(exc), exc.details)


def raw_errors(fn: Callable[[], None]) -> None:
    """Run ``fn``, turning the auth store's errors into etcd's unconverted ``UNKNOWN`` form.

    Args:
        fn: the check to run.

    Raises:
        UnknownError: ``fn`` raised an auth error.
    """
    try:
        fn()
    except EtcdError as exc:
        raise UnknownError(_raw_message(exc)) from None
