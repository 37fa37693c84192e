"""The Auth API and credentials, end to end, on PRIVATE backends (auth is never enabled on
the shared session backends: other tests use them).

Each backend (reference server, etcd 3.5, etcd 3.4) starts once for this module with a
2-second simple-token TTL (``--auth-token-ttl=2`` / ``Server(auth_token_ttl=2)``). The
``admin`` fixture enables auth with a root client and, afterwards, disables it and deletes
every user and role but root, so each test starts from the same state.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import grpc
import pytest

from etcd3py import Client, Compare, Context, Op, PermissionType, _pb, _stubs
from etcd3py import errors as E
from tests.backends import (
    Backend,
    BackendUnavailable,
    _etcd34_binary,
    _etcd35_binary,
    running_etcd,
)
from tests.conftest import selected_backends

pytestmark = pytest.mark.both_faces

NewClient = Callable[..., Client]
TTL = 2  # seconds: the simple-token TTL of every private backend
ROOT_PW = "root-pw"
WAIT = 10.0  # seconds any single expected watch response may take


def _start(name: str, stack: ExitStack) -> Backend:
    if name == "testserver":
        from testserver import Server

        try:
            srv = Server(auth_token_ttl=TTL)  # type: ignore[call-arg]
        except TypeError as exc:
            pytest.skip(
                f"testserver.Server has no auth_token_ttl yet (its auth is not built): {exc}"
            )
        stack.enter_context(srv)
        return Backend("testserver", [srv.endpoint], is_real=False, server=srv)
    finder = _etcd35_binary if name == "etcd35" else _etcd34_binary
    try:
        binary = finder()[0]
    except BackendUnavailable as exc:
        pytest.skip(f"backend {name} unavailable: {exc}")
    return stack.enter_context(running_etcd(binary, name, extra_args=[f"--auth-token-ttl={TTL}"]))


@pytest.fixture(scope="module", params=["testserver", "etcd35", "etcd34"])
def auth_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A private backend with a short token TTL, auth disabled, a root user with the root role."""
    name: str = request.param
    if name not in selected_backends(request.config):
        pytest.skip(f"backend {name} not selected")
    with ExitStack() as stack:
        backend = _start(name, stack)
        with Client(backend.endpoints) as plain:
            plain.user_add("root", ROOT_PW)
            plain.role_add("root")
            plain.user_grant_role("root", "root")
        yield backend


@pytest.fixture
def plain(auth_backend: Backend, new_client: NewClient) -> Iterator[Client]:
    """A client of the test's face without credentials (auth is disabled while the test starts)."""
    with new_client(auth_backend.endpoints) as cli:
        yield cli


def _reset(endpoints: list[str]) -> None:
    """Disable auth, then delete every user and role but root (and give root its role)."""
    with Client(endpoints) as cli:
        try:
            cli.user_list()  # refused without a token while auth is enabled
        except E.UserEmptyError:
            with Client(endpoints, username="root", password=ROOT_PW) as root:
                root.auth_disable()
        for user in cli.user_list().users:
            if user != "root":
                cli.user_delete(user)
        for role in cli.role_list().roles:
            if role != "root":
                cli.role_delete(role)
        if "root" not in cli.user_list().users:
            cli.user_add("root", ROOT_PW)
        if "root" not in cli.role_list().roles:
            cli.role_add("root")
        cli.user_grant_role("root", "root")


@pytest.fixture
def admin(auth_backend: Backend, new_client: NewClient) -> Iterator[Client]:
    """A root client of the test's face on the backend with auth enabled; reset afterwards."""
    with Client(auth_backend.endpoints) as plain_cli:
        plain_cli.auth_enable()
    try:
        with new_client(auth_backend.endpoints, username="root", password=ROOT_PW) as root:
            yield root
    finally:
        _reset(auth_backend.endpoints)


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    return f"/auth/{request.node.name}-{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def login(auth_backend: Backend, new_client: NewClient) -> Callable[[str, str], Client]:
    """``login(user, password)``: a client of the test's face with credentials, closed after
    the test."""

    def make(user: str, password: str) -> Client:
        return new_client(auth_backend.endpoints, username=user, password=password)

    return make


def _has_auth_status(backend: Backend) -> bool:
    """AuthStatus came with etcd 3.5 (3.4 answers UNIMPLEMENTED)."""
    return not backend.version.startswith("3.4.")


def _user_with_role(admin: Client, user: str, role: str) -> None:
    admin.user_add(user, f"{user}-pw")
    admin.role_add(role)
    admin.user_grant_role(user, role)


# ---- the admin API ----------------------------------------------------------------------


def test_admin_round_trip(
    admin: Client, login: Callable[[str, str], Client], auth_backend: Backend
) -> None:
    status = _has_auth_status(auth_backend)
    rev0 = 0
    if status:
        before = admin.auth_status()
        assert before.enabled
        rev0 = before.auth_revision
    admin.user_add("bob", "bob-pw")
    admin.auth.user_add("alice", "alice-pw")
    admin.user_add("nopw", no_password=True)
    assert admin.user_list().users == ["alice", "bob", "nopw", "root"]
    admin.role_add("writers")
    admin.role_add("readers")
    assert admin.role_list().roles == ["readers", "root", "writers"]
    admin.user_grant_role("alice", "writers")
    admin.user_grant_role("alice", "readers")
    admin.user_grant_role("alice", "readers")  # granting again is a no-op
    assert admin.user_get("alice").roles == ["readers", "writers"]
    assert admin.user_get("bob").roles == []

    admin.role_grant_permission("readers", "/r/", PermissionType.READ, prefix=True)
    admin.role_grant_permission("readers", "/a", PermissionType.WRITE)
    admin.role_grant_permission("readers", b"/m", PermissionType.READWRITE, range_end="/n")
    admin.role_grant_permission("readers", "/z", PermissionType.READ, from_key=True)
    admin.role_grant_permission("readers", "", PermissionType.READ, prefix=True)
    got = [(p.perm_type, p.key, p.range_end) for p in admin.role_get("readers").perms]
    assert got == [
        (PermissionType.READ, b"\0", b"\0"),
        (PermissionType.WRITE, b"/a", b""),
        (PermissionType.READWRITE, b"/m", b"/n"),
        (PermissionType.READ, b"/r/", b"/r0"),
        (PermissionType.READ, b"/z", b"\0"),
    ]
    # granting over the same key and range end replaces the type
    admin.role_grant_permission("readers", "/a", PermissionType.READ)
    assert admin.role_get("readers").perms[1].perm_type == PermissionType.READ
    admin.role_revoke_permission("readers", "/r/", prefix=True)
    admin.role_revoke_permission("readers", "", prefix=True)
    admin.role_revoke_permission("readers", "/z", from_key=True)
    admin.role_revoke_permission("readers", "/m", range_end="/n")
    assert [p.key for p in admin.role_get("readers").perms] == [b"/a"]

    admin.user_revoke_role("alice", "writers")
    assert admin.user_get("alice").roles == ["readers"]
    admin.role_delete("readers")  # etcd takes it from its users too
    assert admin.user_get("alice").roles == []
    assert admin.role_list().roles == ["root", "writers"]

    admin.user_change_password("alice", "new-pw")
    alice = login("alice", "new-pw")  # authenticated; with no role left, nothing permitted
    with pytest.raises(E.PermissionDeniedError):
        alice.get("/none")
    with pytest.raises(E.AuthFailedError):
        admin.authenticate("alice", "alice-pw")
    assert admin.authenticate("alice", "new-pw").token
    admin.user_delete("bob")
    assert admin.user_list().users == ["alice", "nopw", "root"]
    if status:
        assert admin.auth_status().auth_revision > rev0


def test_enable_needs_root_user_and_role(plain: Client, auth_backend: Backend) -> None:
    plain.user_delete("root")  # allowed while auth is disabled
    try:
        with pytest.raises(E.RootUserNotExistError) as info:
            plain.auth_enable()
        assert str(info.value) == "etcdserver: root user does not exist"
        plain.user_add("root", ROOT_PW)
        with pytest.raises(E.RootRoleNotExistError) as info2:
            plain.auth_enable()
        assert str(info2.value) == "etcdserver: root user does not have root role"
        assert plain.user_list().users == ["root"]  # auth is still off: no token needed
    finally:
        _reset(auth_backend.endpoints)


def test_authenticate_when_auth_is_off(plain: Client) -> None:
    with pytest.raises(E.AuthNotEnabledError) as info:
        plain.authenticate("root", ROOT_PW)
    assert str(info.value) == "etcdserver: authentication is not enabled"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: c.user_add("root", "x"), E.UserAlreadyExistError, "user name already exists"),
        (lambda c: c.role_add("root"), E.RoleAlreadyExistError, "role name already exists"),
        (lambda c: c.user_get("ghost"), E.UserNotFoundError, "user name not found"),
        (lambda c: c.user_delete("ghost"), E.UserNotFoundError, "user name not found"),
        (lambda c: c.role_get("ghost"), E.RoleNotFoundError, "role name not found"),
        (lambda c: c.role_delete("ghost"), E.RoleNotFoundError, "role name not found"),
        (lambda c: c.user_grant_role("root", "ghost"), E.RoleNotFoundError, "role name not found"),
        (lambda c: c.user_grant_role("ghost", "root"), E.UserNotFoundError, "user name not found"),
        (
            lambda c: c.user_revoke_role("root", "ghost"),
            E.RoleNotGrantedError,
            "role is not granted to the user",
        ),
        (
            lambda c: c.role_revoke_permission("root", "/nothing"),
            E.PermissionNotGrantedError,
            "permission is not granted to the role",
        ),
        (
            lambda c: c.role_grant_permission("ghost", "/k", PermissionType.READ),
            E.RoleNotFoundError,
            "role name not found",
        ),
        (lambda c: c.user_delete("root"), E.InvalidAuthMgmtError, "invalid auth management"),
        (lambda c: c.role_delete("root"), E.InvalidAuthMgmtError, "invalid auth management"),
        (
            lambda c: c.user_revoke_role("root", "root"),
            E.InvalidAuthMgmtError,
            "invalid auth management",
        ),
    ],
    ids=lambda v: getattr(v, "__name__", None) if isinstance(v, type) else None,
)
def test_admin_misuse_errors(
    admin: Client, call: Callable[[Client], object], error: type[E.EtcdError], message: str
) -> None:
    with pytest.raises(error) as info:
        call(admin)
    assert str(info.value) == f"etcdserver: {message}"


def test_enable_twice_is_a_no_op(admin: Client, auth_backend: Backend) -> None:
    if not _has_auth_status(auth_backend):
        with pytest.raises(E.UnimplementedError):  # AuthStatus came with etcd 3.5
            admin.auth_status()
        admin.auth_enable()
        assert admin.user_list().users == ["root"]
        return
    before = admin.auth_status()
    admin.auth_enable()
    assert admin.auth_status().enabled and admin.auth_status().auth_revision == before.auth_revision


def test_non_root_user_cannot_administer(
    admin: Client, login: Callable[[str, str], Client]
) -> None:
    _user_with_role(admin, "carol", "nothing")
    carol = login("carol", "carol-pw")
    for call in (carol.user_list, carol.role_list, carol.auth_disable):
        with pytest.raises(E.PermissionDeniedError) as info:
            call()
        assert str(info.value) == "etcdserver: permission denied"


def test_no_token_is_user_empty(admin: Client, plain: Client) -> None:
    with pytest.raises(E.UserEmptyError):
        plain.put("/k", "v")


# ---- credentials ------------------------------------------------------------------------


def test_wrong_password_and_unknown_user(
    admin: Client, auth_backend: Backend, new_client: NewClient
) -> None:
    for user, password in (("root", "wrong"), ("nobody", "x")):
        with pytest.raises(E.AuthFailedError) as info:
            new_client(auth_backend.endpoints, username=user, password=password)
        assert str(info.value) == "etcdserver: authentication failed, invalid user ID or password"


def test_auth_disable_then_the_root_client_goes_on(admin: Client, prefix: str) -> None:
    admin.put(prefix + "k", "1")
    admin.auth_disable()
    assert admin.put(prefix + "k", "2").header.revision > 0  # the first call after it
    assert admin.get(prefix + "k").kvs[0].value == b"2"


def test_credentials_while_auth_is_disabled(
    plain: Client, auth_backend: Backend, new_client: NewClient
) -> None:
    with new_client(auth_backend.endpoints, username="root", password=ROOT_PW) as cli:
        assert cli.get("/k").count == 0


def _raw_range_error(endpoint: str, token: str) -> grpc.StatusCode | None:
    """Issue a Range with ``token`` on a raw channel; return the status code of its failure."""
    with grpc.insecure_channel(endpoint) as channel:
        stub = _stubs.rpc_grpc.KVStub(channel)
        try:
            stub.Range(_pb.rpc.RangeRequest(key=b"/"), metadata=(("token", token),), timeout=5)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
    return None


def test_expired_token_is_refreshed_for_get_put_txn(
    admin: Client, login: Callable[[str, str], Client], auth_backend: Backend, prefix: str
) -> None:
    _user_with_role(admin, "dave", "rw")
    admin.role_grant_permission("rw", prefix, PermissionType.READWRITE, prefix=True)
    clients = [login("dave", "dave-pw") for _ in range(3)]
    tokens = [c._transport._token for c in clients]
    assert all(tokens)
    # the passage of time is the point here: a simple token dies TTL (+1 s resolution)
    # after its last use, and any use renews it, so nothing may touch them meanwhile
    time.sleep(TTL + 2.0)
    assert _raw_range_error(auth_backend.endpoints[0], tokens[0] or "") == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    get_c, put_c, txn_c = clients
    assert put_c.put(prefix + "p", "v").header.revision > 0  # refused unapplied, retried once
    assert get_c.get(prefix + "p").kvs[0].value == b"v"
    resp = txn_c.txn().if_(Compare.version(prefix + "p") == 1).then(Op.put(prefix + "t", "x"))
    assert resp.commit().succeeded
    assert admin.get(prefix, prefix=True).count == 2  # each write applied once
    assert admin.get(prefix + "p").kvs[0].version == 1
    new_tokens = [c._transport._token for c in clients]
    assert all(new and new != old for new, old in zip(new_tokens, tokens, strict=True))


# ---- permissions enforced ---------------------------------------------------------------


def test_read_only_user(admin: Client, login: Callable[[str, str], Client], prefix: str) -> None:
    _user_with_role(admin, "erin", "ro")
    admin.role_grant_permission("ro", prefix, PermissionType.READ, prefix=True)
    admin.put(prefix + "k", "v")
    erin = login("erin", "erin-pw")
    assert erin.get(prefix + "k").kvs[0].value == b"v"
    assert erin.get(prefix, prefix=True).count == 1
    for write in (lambda: erin.put(prefix + "k", "w"), lambda: erin.delete(prefix + "k")):
        with pytest.raises(E.PermissionDeniedError) as info:
            write()
        assert str(info.value) == "etcdserver: permission denied"
    with pytest.raises(E.PermissionDeniedError):
        erin.get("/elsewhere")
    assert admin.get(prefix + "k").kvs[0].value == b"v"


def test_range_and_from_key_permissions(
    admin: Client, login: Callable[[str, str], Client], prefix: str
) -> None:
    _user_with_role(admin, "frank", "ranges")
    admin.role_grant_permission(
        "ranges", prefix + "a", PermissionType.READWRITE, range_end=prefix + "c"
    )
    admin.role_grant_permission("ranges", prefix + "m", PermissionType.READ, from_key=True)
    frank = login("frank", "frank-pw")
    frank.put(prefix + "b", "1")
    assert frank.get(prefix + "a", range_end=prefix + "c").count == 1
    assert frank.get(prefix + "aa", range_end=prefix + "b").count == 0
    admin.put(prefix + "n", "1")
    everything_after = admin.get(prefix + "m", from_key=True).count
    assert (
        everything_after >= 1 and frank.get(prefix + "m", from_key=True).count == everything_after
    )
    assert frank.get(prefix + "zzz").count == 0
    for denied in (
        lambda: frank.put(prefix + "c", "1"),  # the range end is exclusive
        lambda: frank.get(prefix, prefix=True),  # wider than the range
        lambda: frank.get(prefix + "b", range_end=prefix + "d"),
        lambda: frank.put(prefix + "n", "1"),  # from-key is read-only
        lambda: frank.get(prefix + "l"),
    ):
        with pytest.raises(E.PermissionDeniedError):
            denied()


def test_txn_touching_a_key_outside_is_denied(
    admin: Client, login: Callable[[str, str], Client], prefix: str
) -> None:
    _user_with_role(admin, "gina", "w")
    admin.role_grant_permission("w", prefix, PermissionType.READWRITE, prefix=True)
    gina = login("gina", "gina-pw")
    assert gina.txn().then(Op.put(prefix + "in", "1")).commit().succeeded
    for txn in (
        gina.txn().then(Op.put(prefix + "in", "2"), Op.put("/outside", "x")),
        gina.txn().if_(Compare.version("/outside") == 0).then(Op.put(prefix + "in", "2")),
        gina.txn().then(Op.get(prefix + "in")).else_(Op.delete("/outside")),
    ):
        with pytest.raises(E.PermissionDeniedError):
            txn.commit()
    assert admin.get(prefix + "in").kvs[0].value == b"1"
    assert admin.get("/outside").count == 0


def test_watch_outside_range_is_denied(
    admin: Client, login: Callable[[str, str], Client], prefix: str
) -> None:
    _user_with_role(admin, "hank", "rw")
    admin.role_grant_permission("rw", prefix, PermissionType.READWRITE, prefix=True)
    hank = login("hank", "hank-pw")
    outside = hank.watch("/outside/", prefix=True)
    responses = []
    deadline = time.monotonic() + WAIT
    with pytest.raises(E.PermissionDeniedError) as raised:  # the take after the last response
        while True:
            assert time.monotonic() < deadline, f"the denied watch did not end: {responses}"
            resp = outside.get(deadline - time.monotonic())
            if resp is not None:
                responses.append(resp)
    assert outside.done
    assert responses, "the denied watch ended without saying why"
    assert responses[-1].canceled
    err = responses[-1].err()
    assert isinstance(err, E.PermissionDeniedError), (err, responses)
    assert err is raised.value
    assert str(err) == "etcdserver: permission denied"


def test_watch_inside_range_works(
    admin: Client, login: Callable[[str, str], Client], prefix: str
) -> None:
    _user_with_role(admin, "hank", "rw")
    admin.role_grant_permission("rw", prefix, PermissionType.READWRITE, prefix=True)
    hank = login("hank", "hank-pw")
    with hank.watch(prefix, prefix=True) as inside:
        hank.put(prefix + "k", "v")
        events = []
        deadline = time.monotonic() + WAIT
        while not events:
            assert time.monotonic() < deadline, "no event on the permitted watch"
            resp = inside.get(deadline - time.monotonic())
            assert resp is not None and resp.err() is None, resp
            events.extend(resp.events)
        assert [(e.kv.key, e.kv.value) for e in events] == [((prefix + "k").encode(), b"v")]


def test_lease_grant_and_keep_alive_for_a_user(
    admin: Client, login: Callable[[str, str], Client], prefix: str
) -> None:
    _user_with_role(admin, "ivy", "rw")
    admin.role_grant_permission("rw", prefix, PermissionType.READWRITE, prefix=True)
    ivy = login("ivy", "ivy-pw")
    lease = ivy.grant(30)
    ivy.put(prefix + "leased", "v", lease=lease.id)
    assert ivy.keep_alive_once(lease.id).ttl > 0
    with ivy.keep_alive(lease.id) as ka:
        first = ka.get(WAIT)
        assert first is not None, "no keep-alive response"
        assert first.id == lease.id and first.ttl > 0
    assert ivy.time_to_live(lease.id).ttl > 0
    ivy.revoke(lease.id)
    assert admin.get(prefix + "leased").count == 0


# ---- ctx metadata -----------------------------------------------------------------------


def test_ctx_metadata_reaches_the_server(admin: Client, plain: Client, prefix: str) -> None:
    """A token handed over as ctx metadata authorizes a client that has no credentials."""
    token = plain.authenticate("root", ROOT_PW).token
    ctx = Context.background().with_metadata(("token", token))
    plain.put(prefix + "k", "v", ctx=ctx)
    assert plain.get(prefix + "k", ctx=ctx).kvs[0].value == b"v"
    assert plain.txn().then(Op.delete(prefix + "k")).commit(ctx=ctx).succeeded
    assert "root" in plain.user_list(ctx=ctx).users
    with pytest.raises(E.UserEmptyError):
        plain.get(prefix + "k")  # the same call without the ctx carries no token
    bad = Context.background().with_metadata(("token", "not-a-token"))
    with pytest.raises(E.InvalidAuthTokenError):
        plain.get(prefix + "k", ctx=bad)
