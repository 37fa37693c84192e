"""The Auth concern without a server: arguments checked before anything is sent, the requests
built (keys, range ends, permission types) and which calls are marked repeatable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from etcd3py import Client, Context, PermissionType, _pb
from etcd3py import auth as auth_module
from etcd3py import errors as E
from etcd3py._calls import Call
from etcd3py._transport import check_ctx, check_timeout
from etcd3py.auth import Auth, AuthRoleGetResponse, Permission


class _Methods:
    """Stands in for the Auth stub: each attribute is the method's name."""

    def __getattr__(self, name: str) -> str:
        return name


class FakeTransport:
    """Records every call; answers with an empty response of the right type."""

    def __init__(self) -> None:
        self.auth = _Methods()
        self.calls: list[tuple[str, Any, bool]] = []
        self.ctxs: list[Context | None] = []

    def call(
        self,
        method: str,
        request: Any,
        *,
        timeout: float | None = None,
        ctx: Context | None = None,
        repeatable: bool = False,
    ) -> Any:
        self.calls.append((method, request, repeatable))
        self.ctxs.append(ctx)
        name = f"{method}Response" if method.startswith("Auth") else f"Auth{method}Response"
        return getattr(_pb.rpc, name)()

    def run(
        self, call: Call[Any], *, timeout: float | None = None, ctx: Context | None = None
    ) -> Any:
        """As ``Transport.run``: check ctx and timeout, look the method up, call it, wrap."""
        check_ctx(ctx)
        check_timeout(timeout)
        method = getattr(getattr(self, call.service), call.method)
        response = self.call(
            method, call.request, timeout=timeout, ctx=ctx, repeatable=call.repeatable
        )
        return call.wrap(response)


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def auth(fake: FakeTransport) -> Auth:
    return Auth(fake)  # type: ignore[arg-type]


BAD_CALLS: list[tuple[Callable[[Auth], object], type[Exception]]] = [
    (lambda a: a.user_add("", "pw"), E.UserEmptyError),
    (lambda a: a.role_add(""), E.RoleEmptyError),
    (lambda a: a.user_add(b"u", "pw"), E.ArgumentTypeError),  # type: ignore[arg-type]
    (lambda a: a.role_add(7), E.ArgumentTypeError),  # type: ignore[arg-type]
    (lambda a: a.user_add("u", 5), E.ArgumentTypeError),  # type: ignore[arg-type]
    (lambda a: a.user_add("u"), E.InvalidArgumentError),
    (lambda a: a.user_add("u", "pw", no_password=True), E.InvalidArgumentError),
    (lambda a: a.user_add("u", no_password=1), E.ArgumentTypeError),  # type: ignore[arg-type]
    (lambda a: a.role_grant_permission("r", "", PermissionType.READ), E.EmptyKeyError),
    (lambda a: a.role_grant_permission("r", 3, PermissionType.READ), E.ArgumentTypeError),  # type: ignore[arg-type]
    (lambda a: a.role_grant_permission("r", "/k", 7), E.InvalidArgumentError),  # type: ignore[arg-type]
    (lambda a: a.role_grant_permission("r", "/k", "READ"), E.ArgumentTypeError),  # type: ignore[arg-type]
    (lambda a: a.role_grant_permission("r", "/k", True), E.ArgumentTypeError),
    (
        lambda a: a.role_grant_permission(
            "r", "/k", PermissionType.READ, prefix=True, from_key=True
        ),
        E.InvalidArgumentError,
    ),
    (
        lambda a: a.role_grant_permission(
            "r", "/k", PermissionType.READ, prefix=True, range_end="/l"
        ),
        E.InvalidArgumentError,
    ),
    (lambda a: a.role_revoke_permission("r", ""), E.EmptyKeyError),
    (
        lambda a: a.role_revoke_permission("r", "/k", from_key=True, range_end="/l"),
        E.InvalidArgumentError,
    ),
    (lambda a: a.role_revoke_permission("r", "/k", prefix="yes"), E.ArgumentTypeError),  # type: ignore[arg-type]
    (lambda a: a.user_list(timeout=-1), E.InvalidArgumentError),
    (lambda a: a.auth_enable(timeout="1"), E.ArgumentTypeError),  # type: ignore[arg-type]
]


# Every Auth method, called with a ctx (on an Auth or a Client: the names are the same).
AUTH_CALLS: list[tuple[str, Callable[[Any, Context | None], object]]] = [
    ("auth_enable", lambda a, ctx: a.auth_enable(ctx=ctx)),
    ("auth_disable", lambda a, ctx: a.auth_disable(ctx=ctx)),
    ("auth_status", lambda a, ctx: a.auth_status(ctx=ctx)),
    ("authenticate", lambda a, ctx: a.authenticate("u", "pw", ctx=ctx)),
    ("user_add", lambda a, ctx: a.user_add("u", "pw", ctx=ctx)),
    ("user_get", lambda a, ctx: a.user_get("u", ctx=ctx)),
    ("user_list", lambda a, ctx: a.user_list(ctx=ctx)),
    ("user_delete", lambda a, ctx: a.user_delete("u", ctx=ctx)),
    ("user_change_password", lambda a, ctx: a.user_change_password("u", "pw2", ctx=ctx)),
    ("user_grant_role", lambda a, ctx: a.user_grant_role("u", "r", ctx=ctx)),
    ("user_revoke_role", lambda a, ctx: a.user_revoke_role("u", "r", ctx=ctx)),
    ("role_add", lambda a, ctx: a.role_add("r", ctx=ctx)),
    ("role_get", lambda a, ctx: a.role_get("r", ctx=ctx)),
    ("role_list", lambda a, ctx: a.role_list(ctx=ctx)),
    ("role_delete", lambda a, ctx: a.role_delete("r", ctx=ctx)),
    (
        "role_grant_permission",
        lambda a, ctx: a.role_grant_permission("r", "/k", PermissionType.READ, ctx=ctx),
    ),
    ("role_revoke_permission", lambda a, ctx: a.role_revoke_permission("r", "/k", ctx=ctx)),
]


def test_auth_calls_cover_every_method() -> None:
    public = {n for n in vars(Auth) if not n.startswith("_")}
    assert {name for name, _ in AUTH_CALLS} == public


@pytest.mark.parametrize(("name", "call"), AUTH_CALLS, ids=[n for n, _ in AUTH_CALLS])
def test_every_auth_call_sends_its_ctx(
    auth: Auth, fake: FakeTransport, name: str, call: Callable[[Any, Context | None], object]
) -> None:
    ctx = Context.background().with_require_leader()
    call(auth, ctx)
    call(auth, None)
    assert fake.ctxs == [ctx, None]


@pytest.mark.parametrize(("name", "call"), AUTH_CALLS, ids=[n for n, _ in AUTH_CALLS])
def test_a_ctx_that_is_not_a_context_is_refused(
    auth: Auth, fake: FakeTransport, name: str, call: Callable[[Any, Any], object]
) -> None:
    with pytest.raises(E.ArgumentTypeError, match=r"ctx must be an etcd3py\.Context, not str"):
        call(auth, "ctx")
    assert fake.calls == []


@pytest.mark.parametrize(("call", "error"), BAD_CALLS)
def test_bad_arguments_are_refused_before_sending(
    auth: Auth, fake: FakeTransport, call: Callable[[Auth], object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        call(auth)
    assert fake.calls == []


def test_empty_names_carry_etcds_messages(auth: Auth) -> None:
    with pytest.raises(E.UserEmptyError, match=r"^etcdserver: user name is empty$"):
        auth.user_add("", "pw")
    with pytest.raises(E.RoleEmptyError, match=r"^etcdserver: role name is empty$"):
        auth.role_add("")


def test_an_empty_name_elsewhere_is_sent_as_etcd_takes_it(auth: Auth, fake: FakeTransport) -> None:
    # etcd refuses an empty name only when adding; elsewhere it answers "not found"
    auth.user_get("")
    auth.role_get("")
    assert len(fake.calls) == 2


@pytest.mark.parametrize(
    ("kwargs", "key", "range_end"),
    [
        ({}, b"/k", b""),
        ({"prefix": True}, b"/k", b"/l"),
        ({"from_key": True}, b"/k", b"\0"),
        ({"range_end": "/z"}, b"/k", b"/z"),
        ({"range_end": b"/z"}, b"/k", b"/z"),
    ],
)
def test_permission_ranges(
    auth: Auth, fake: FakeTransport, kwargs: dict[str, Any], key: bytes, range_end: bytes
) -> None:
    auth.role_grant_permission("r", "/k", PermissionType.WRITE, **kwargs)
    auth.role_revoke_permission("r", b"/k", **kwargs)
    (_, grant, _), (_, revoke, _) = fake.calls
    assert (grant.name, grant.perm.key, grant.perm.range_end) == ("r", key, range_end)
    assert grant.perm.permType == PermissionType.WRITE
    assert (revoke.role, revoke.key, revoke.range_end) == ("r", key, range_end)


@pytest.mark.parametrize("kwargs", [{"prefix": True}, {"from_key": True}])
def test_empty_key_with_prefix_or_from_key_is_every_key(
    auth: Auth, fake: FakeTransport, kwargs: dict[str, Any]
) -> None:
    auth.role_grant_permission("r", "", PermissionType.READ, **kwargs)
    ((_, grant, _),) = fake.calls
    assert (grant.perm.key, grant.perm.range_end) == (b"\0", b"\0")


def test_reads_are_repeatable_and_changes_are_not(auth: Auth, fake: FakeTransport) -> None:
    auth.auth_status()
    auth.user_get("u")
    auth.user_list()
    auth.role_get("r")
    auth.role_list()
    auth.auth_enable()
    auth.auth_disable()
    auth.user_add("u", "pw")
    auth.user_delete("u")
    auth.user_change_password("u", "pw2")
    auth.user_grant_role("u", "r")
    auth.user_revoke_role("u", "r")
    auth.role_add("r")
    auth.role_delete("r")
    auth.role_grant_permission("r", "/k", PermissionType.READ)
    auth.role_revoke_permission("r", "/k")
    flags = {method: repeatable for method, _, repeatable in fake.calls}
    reads = {"AuthStatus", "UserGet", "UserList", "RoleGet", "RoleList"}
    assert {m for m, r in flags.items() if r} == reads
    assert len(flags) == 16


def test_user_add_requests(auth: Auth, fake: FakeTransport) -> None:
    auth.user_add("u", "pw")
    auth.user_add("tls-only", no_password=True)
    (_, with_pw, _), (_, no_pw, _) = fake.calls
    assert (with_pw.name, with_pw.password, with_pw.options.no_password) == ("u", "pw", False)
    assert (no_pw.name, no_pw.password, no_pw.options.no_password) == ("tls-only", "", True)


def test_role_get_view() -> None:
    pb = _pb.rpc.AuthRoleGetResponse()
    pb.perm.add(permType=2, key=b"/a", range_end=b"/b")
    (perm,) = AuthRoleGetResponse(pb).perms
    assert isinstance(perm, Permission)
    assert (perm.perm_type, perm.key, perm.range_end) == (PermissionType.READWRITE, b"/a", b"/b")
    assert "READWRITE" in repr(perm)


def test_permission_type_keeps_proto_names() -> None:
    assert [(t.name, int(t)) for t in PermissionType] == [
        ("READ", 0),
        ("WRITE", 1),
        ("READWRITE", 2),
    ]
    for name, value in _pb.auth.Permission.Type.items():
        assert PermissionType[name] == value


@pytest.mark.parametrize(
    "kwargs", [{"username": "root"}, {"password": "pw"}], ids=["no-password", "no-username"]
)
def test_credentials_go_together(kwargs: dict[str, str]) -> None:
    with pytest.raises(E.InvalidArgumentError, match="username and password go together"):
        Client(endpoints=["127.0.0.1:1"], dial_timeout=None, **kwargs)  # nothing is dialled


def test_client_forwards_to_its_auth() -> None:
    client = Client(endpoints=["127.0.0.1:1"], dial_timeout=None)
    try:
        fake = FakeTransport()
        client.auth = Auth(fake)  # type: ignore[arg-type]
        client.user_add("u", "pw")
        client.role_grant_permission("r", "/p/", PermissionType.READ, prefix=True)
        assert [m for m, _, _ in fake.calls] == ["UserAdd", "RoleGrantPermission"]
    finally:
        client.close()


def test_every_rpc_keeps_its_retry_class(auth: Auth, fake: FakeTransport) -> None:
    for _, call in AUTH_CALLS:
        call(auth, None)
    flags = {method: repeatable for method, _, repeatable in fake.calls}
    assert flags == {
        "AuthEnable": False,
        "AuthDisable": False,
        "AuthStatus": True,
        "Authenticate": True,  # asking again only makes another token
        "UserAdd": False,
        "UserGet": True,
        "UserList": True,
        "UserDelete": False,
        "UserChangePassword": False,
        "UserGrantRole": False,
        "UserRevokeRole": False,
        "RoleAdd": False,
        "RoleGet": True,
        "RoleList": True,
        "RoleDelete": False,
        "RoleGrantPermission": False,
        "RoleRevokePermission": False,
    }


@pytest.mark.parametrize(("name", "call"), AUTH_CALLS, ids=[n for n, _ in AUTH_CALLS])
def test_every_call_answers_with_its_view(
    auth: Auth, fake: FakeTransport, name: str, call: Callable[[Any, Context | None], object]
) -> None:
    answer = call(auth, None)
    ((method, _, _),) = fake.calls
    view = f"{method}Response" if method.startswith("Auth") else f"Auth{method}Response"
    assert type(answer) is getattr(auth_module, view)
    assert isinstance(answer.to_pb(), getattr(_pb.rpc, view))
