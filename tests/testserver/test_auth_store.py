"""The reference server's auth store alone: users, roles, permissions, enable rules, tokens.

No server and no gRPC: the store's methods are called directly, with an injected clock for
the token TTL. What real etcd answers is checked by test_differential_auth.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from etcd3py import _pb
from etcd3py.errors import (
    AuthFailedError,
    AuthNotEnabledError,
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
from testserver.auth.perms import Interval, compare_keys, covers, permission_interval
from testserver.auth.store import AuthInfo, AuthStore, Perm, raw_errors
from testserver.auth.tokens import SimpleTokens

READ = _pb.auth.Permission.READ
WRITE = _pb.auth.Permission.WRITE
READWRITE = _pb.auth.Permission.READWRITE


class Clock:
    """A hand-moved clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def enabled_store(clock: Clock | None = None, ttl: float = 300.0) -> AuthStore:
    store = AuthStore(SimpleTokens(ttl=ttl, clock=clock or Clock()))
    store.user_add("root", "rootpw", False)
    store.user_grant_role("root", "root")
    store.enable()
    return store


def login(store: AuthStore, name: str, password: str, index: int = 10) -> AuthInfo:
    return store.info_from_token(store.authenticate(name, password, index))


# ---- intervals -----------------------------------------------------------------------------


def test_empty_key_compares_as_infinity() -> None:
    assert compare_keys(b"", b"") == 0
    assert compare_keys(b"", b"\xff\xff") == 1
    assert compare_keys(b"a", b"") == -1
    assert compare_keys(b"a", b"b") == -1


def test_permission_intervals() -> None:
    assert permission_interval(b"k", b"") == Interval(b"k", b"k\x00")
    assert permission_interval(b"k", b"\x00") == Interval(b"k", b"")
    assert permission_interval(b"a", b"c") == Interval(b"a", b"c")


@pytest.mark.parametrize(
    ("key", "end", "allowed"),
    [
        (b"/a", b"", True),  # the granted key
        (b"/b", b"", False),
        (b"/a", b"/a\x00", True),  # the one-key range
        (b"/a", b"/b", False),  # a prefix is more than one key
    ],
)
def test_single_key_permission(key: bytes, end: bytes, allowed: bool) -> None:
    assert covers([permission_interval(b"/a", b"")], key, end) is allowed


@pytest.mark.parametrize(
    ("key", "end", "allowed"),
    [
        (b"/p/", b"/p0", True),  # the whole prefix
        (b"/p/x", b"", True),
        (b"/p/a", b"/p/b", True),  # a sub-range
        (b"/p/", b"/q", False),  # past the end
        (b"/o", b"/p0", False),  # before the start
        (b"/p/", b"\x00", False),  # every key from: unbounded
        (b"/p0", b"", False),  # the end is excluded
    ],
)
def test_prefix_permission(key: bytes, end: bytes, allowed: bool) -> None:
    assert covers([permission_interval(b"/p/", b"/p0")], key, end) is allowed


def test_from_key_permission_covers_everything_after() -> None:
    perms = [permission_interval(b"m", b"\x00")]
    assert covers(perms, b"m", b"\x00")
    assert covers(perms, b"z", b"\x00")
    assert covers(perms, b"\xff\xff", b"")
    assert not covers(perms, b"a", b"\x00")
    assert not covers(perms, b"l", b"n")


def test_union_of_two_permissions_covers_a_range_only_without_a_gap() -> None:
    touching = [permission_interval(b"a", b"c"), permission_interval(b"c", b"e")]
    assert covers(touching, b"a", b"e")
    assert covers(touching, b"b", b"d")
    gap = [permission_interval(b"a", b"c"), permission_interval(b"d", b"e")]
    assert not covers(gap, b"a", b"e")
    assert covers(gap, b"d", b"e")
    overlapping = [permission_interval(b"a", b"d"), permission_interval(b"b", b"z")]
    assert covers(overlapping, b"a", b"y")
    assert not covers(overlapping, b"a", b"\x7f")


def test_nothing_is_covered_without_permissions() -> None:
    assert not covers([], b"a", b"")
    assert not covers([], b"a", b"b")


# ---- users and roles -----------------------------------------------------------------------


def test_users_are_listed_sorted_and_roles_kept_sorted() -> None:
    store = AuthStore()
    for name in ("zed", "alice", "Bob"):
        store.user_add(name, "pw", False)
    for role in ("w", "a", "m"):
        store.role_add(role)
        store.user_grant_role("zed", role)
    assert store.user_list() == ["Bob", "alice", "zed"]
    assert store.user_get("zed") == ["a", "m", "w"]
    assert store.role_list() == ["a", "m", "w"]


def test_user_and_role_errors() -> None:
    store = AuthStore()
    store.user_add("u", "pw", False)
    store.role_add("r")
    cases: list[tuple[type[Exception], Callable[[], object]]] = [
        (UserEmptyError, lambda: store.user_add("", "pw", False)),
        (UserAlreadyExistError, lambda: store.user_add("u", "pw", False)),
        (UserNotFoundError, lambda: store.user_get("nobody")),
        (UserNotFoundError, lambda: store.user_delete("nobody")),
        (UserNotFoundError, lambda: store.user_change_password("nobody", "x", "")),
        (UserNotFoundError, lambda: store.user_grant_role("nobody", "r")),
        (RoleNotFoundError, lambda: store.user_grant_role("u", "nope")),
        (RoleNotGrantedError, lambda: store.user_revoke_role("u", "r")),
        (RoleEmptyError, lambda: store.role_add("")),
        (RoleAlreadyExistError, lambda: store.role_add("r")),
        (RoleNotFoundError, lambda: store.role_get("nope")),
        (RoleNotFoundError, lambda: store.role_delete("nope")),
        (PermissionNotGivenError, lambda: store.role_grant_permission("r", None)),
        (PermissionNotGrantedError, lambda: store.role_revoke_permission("r", b"k", b"")),
    ]
    for error, call in cases:
        with pytest.raises(error):
            call()


def test_revision_counts_changes_only() -> None:
    store = AuthStore()
    assert store.revision == 1
    store.user_add("root", "pw", False)
    store.user_grant_role("root", "root")  # no role record needed for root
    store.user_grant_role("root", "root")  # granted twice: no change
    assert store.revision == 3
    store.enable()  # enabling keeps the revision
    assert store.revision == 3
    store.disable()
    assert store.revision == 4


def test_permissions_sorted_by_key_and_updated_in_place() -> None:
    store = AuthStore()
    store.role_add("r")
    store.role_grant_permission("r", Perm(b"m", b"", READ))
    store.role_grant_permission("r", Perm(b"a", b"c", WRITE))
    store.role_grant_permission("r", Perm(b"m", b"", READWRITE))  # same key and end: update
    assert [(p.key, p.range_end, p.perm_type) for p in store.role_get("r")] == [
        (b"a", b"c", WRITE),
        (b"m", b"", READWRITE),
    ]
    store.role_revoke_permission("r", b"a", b"c")
    assert [p.key for p in store.role_get("r")] == [b"m"]


def test_role_delete_revokes_it_from_users() -> None:
    store = AuthStore()
    store.user_add("u", "pw", False)
    store.role_add("r")
    store.user_grant_role("u", "r")
    store.role_delete("r")
    assert store.user_get("u") == []


# ---- enable rules --------------------------------------------------------------------------


def test_enable_needs_a_root_user_with_the_root_role() -> None:
    store = AuthStore()
    with pytest.raises(RootUserNotExistError):
        store.enable()
    store.user_add("root", "pw", False)
    with pytest.raises(RootRoleNotExistError):
        store.enable()
    store.user_grant_role("root", "root")
    store.enable()
    assert store.enabled
    store.enable()  # already on: a no-op
    assert store.enabled


def test_root_is_protected_while_enabled_only() -> None:
    store = enabled_store()
    with pytest.raises(InvalidAuthMgmtError):
        store.user_revoke_role("root", "root")
    with pytest.raises(InvalidAuthMgmtError):
        store.user_delete("root")
    with pytest.raises(InvalidAuthMgmtError):
        store.role_delete("root")
    store.disable()
    store.user_revoke_role("root", "root")
    assert store.user_get("root") == []


# ---- authentication and checks -------------------------------------------------------------


def test_authenticate() -> None:
    store = AuthStore()
    store.user_add("root", "pw", False)
    store.user_grant_role("root", "root")
    with pytest.raises(AuthNotEnabledError):
        store.authenticate("root", "pw", 5)
    store.enable()
    store.user_add("np", "", True)
    with pytest.raises(AuthFailedError):
        store.authenticate("root", "wrong", 5)
    with pytest.raises(AuthFailedError):
        store.authenticate("nobody", "pw", 5)
    with pytest.raises(UnknownError) as no_password:
        store.authenticate("np", "", 5)
    assert no_password.value.details == (
        "auth: authentication failed, password was given for no password user"
    )
    token = store.authenticate("root", "pw", 42)
    prefix, index = token.split(".")
    assert len(prefix) == 16 and prefix.isalpha() and index == "42"
    assert store.info_from_token(token) == AuthInfo("root", store.revision)


def test_checks_allow_everything_while_disabled() -> None:
    store = AuthStore()
    store.check_admin(None)
    store.check_range(None, b"a", b"\x00")
    store.check_put(None, b"a")


def test_checks_for_a_limited_user() -> None:
    store = enabled_store()
    store.user_add("u", "upw", False)
    store.role_add("r")
    store.role_grant_permission("r", Perm(b"/r/", b"/r0", READ))
    store.role_grant_permission("r", Perm(b"/w", b"", WRITE))
    store.user_grant_role("u", "r")
    user = login(store, "u", "upw")
    store.check_range(user, b"/r/", b"/r0")
    store.check_put(user, b"/w")
    with pytest.raises(PermissionDeniedError) as denied:
        store.check_put(user, b"/r/x")
    assert denied.value.details == "etcdserver: permission denied"
    with pytest.raises(PermissionDeniedError):
        store.check_range(user, b"/w", b"")
    with pytest.raises(PermissionDeniedError):
        store.check_admin(user)
    with pytest.raises(UserEmptyError):
        store.check_range(None, b"/r/", b"")
    with pytest.raises(UserEmptyError):
        store.check_admin(None)
    root = login(store, "root", "rootpw")
    store.check_admin(root)
    store.check_delete(root, b"\x00", b"\x00")


def test_raw_errors_keep_etcds_unconverted_text() -> None:
    store = enabled_store()
    with pytest.raises(UnknownError) as empty:
        raw_errors(lambda: store.check_admin(None))
    assert empty.value.details == "auth: user name is empty"
    with pytest.raises(UnknownError) as bad:
        raw_errors(lambda: store.check_admin(store.info_from_token("bogus")))
    assert bad.value.details == "auth: invalid auth token"


# ---- tokens --------------------------------------------------------------------------------


def test_token_expires_after_ttl_idle_and_use_resets_it() -> None:
    clock = Clock()
    store = enabled_store(clock, ttl=2.0)
    token = store.authenticate("root", "rootpw", 7)
    clock.now += 1.5
    store.info_from_token(token)  # used: the TTL starts again
    clock.now += 1.5
    assert store.info_from_token(token).username == "root"
    clock.now += 2.01
    with pytest.raises(InvalidAuthTokenError):
        store.info_from_token(token)
    with pytest.raises(InvalidAuthTokenError):  # gone for good
        store.info_from_token(token)


def test_tokens_die_with_password_change_delete_and_disable() -> None:
    store = enabled_store()
    store.user_add("u", "upw", False)
    changed = store.authenticate("u", "upw", 1)
    root = store.authenticate("root", "rootpw", 2)
    store.user_change_password("u", "new", "")
    with pytest.raises(InvalidAuthTokenError):
        store.info_from_token(changed)
    with pytest.raises(AuthFailedError):
        store.authenticate("u", "upw", 3)
    deleted = store.authenticate("u", "new", 4)
    store.user_delete("u")
    with pytest.raises(InvalidAuthTokenError):
        store.info_from_token(deleted)
    store.info_from_token(root)
    store.disable()
    with pytest.raises(InvalidAuthTokenError):
        store.info_from_token(root)


def test_token_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SimpleTokens(ttl=0)


# ---- passwords -----------------------------------------------------------------------------


def test_password_hashes_are_salted_and_verify() -> None:
    a, b = passwords.hash_password("secret"), passwords.hash_password("secret")
    assert a != b
    assert passwords.verify(a, "secret") and passwords.verify(b, "secret")
    assert not passwords.verify(a, "Secret")
    assert passwords.verify(passwords.hash_password(""), "")


def test_a_client_given_hash_never_verifies() -> None:
    stored = passwords.from_hashed("JDJhJDEwJGFiYw==")
    assert not passwords.verify(stored, "")
    with pytest.raises(ValueError):
        passwords.from_hashed("not base64!")
