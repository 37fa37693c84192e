"""Differential test of auth: the reference server must answer what real etcd answers.

Each test starts its own servers (never the shared session backends: enabling auth there
would break every other test): a fresh reference server and a fresh real etcd 3.5.1, and,
when Debian's etcd 3.4 is installed, a 3.4 too. One script of raw gRPC calls runs on each:
auth admin calls before and after enabling auth; KV, Txn, Watch, Lease, Maintenance and
Cluster calls as root, as a limited user, with no token, with a bogus token, with the token in
the ``authorization`` key; password changes and deletes that kill tokens; disabling auth.
The answers are compared call by call. Only what must differ is normalised: the cluster and
member ids and the raft term are cleared; a token is checked against etcd's format
(``<16 letters>.<index>``) and replaced by ``TOKEN``; hashes and member URLs are left out.

etcd 3.4 differs from 3.5.1 in places (it has no AuthStatus, it answers a refused watch
with watch id -1 and the real reason, and its Alarm reports a bad token unconverted): the
steps marked ``V35`` are compared with 3.5.1 only.

A second test runs the servers with a 2-second token TTL: a token used every second stays
valid past its TTL, and once left idle past it, it is refused on both with the same error
(and a watch created with it is refused as etcd refuses it).

A third test restarts each server: users, roles and the auth flag survive, tokens do not.

A fourth test runs a seeded random sequence of permission grants and KV requests by a
limited user against both servers.
"""

from __future__ import annotations

import functools
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import text_format
from google.protobuf.message import Message

from etcd3py import _pb, _stubs
from tests.backends import (
    BackendUnavailable,
    EtcdProcess,
    _etcd34_binary,
    _etcd35_binary,
    free_ports,
    running_etcd,
)
from tests.raw_streams import RawStream, RawWatch
from testserver import Server

pytestmark = pytest.mark.timeout(180)

rpc = _pb.rpc
Perm = _pb.auth.Permission
WAIT = 10.0
TTL = 2  # seconds, for the token-expiry test
V35 = "[3.5] "  # label prefix: compared with etcd 3.5.1 only
_TOKEN = re.compile(r"^[A-Za-z]{16}\.\d+$")
_BINARIES = {"etcd35": _etcd35_binary, "etcd34": _etcd34_binary}

Record = tuple[Any, ...]


def _normalise(resp: Message) -> str:
    msg = type(resp)()
    msg.CopyFrom(resp)
    if msg.HasField("header"):
        header = msg.header  # type: ignore[attr-defined]
        header.cluster_id = header.member_id = header.raft_term = 0
    if isinstance(msg, rpc.AuthenticateResponse):
        assert _TOKEN.match(msg.token), msg.token
        msg.token = "TOKEN"
    return text_format.MessageToString(msg, as_one_line=True)


class TokenWatch(RawWatch):
    """A raw Watch stream opened with the given call metadata."""

    def __init__(self, channel: grpc.Channel, metadata: Any) -> None:
        method = functools.partial(_stubs.rpc_grpc.WatchStub(channel).Watch, metadata=metadata)
        RawStream.__init__(self, method, "auth-watch")


class Session:
    """Runs calls on one server, as one user or another, and records normalised answers."""

    def __init__(self, channel: grpc.Channel, is_34: bool = False) -> None:
        self.channel = channel
        self.is_34 = is_34
        self.kv = _stubs.rpc_grpc.KVStub(channel)
        self.auth = _stubs.rpc_grpc.AuthStub(channel)
        self.lease = _stubs.rpc_grpc.LeaseStub(channel)
        self.mt = _stubs.rpc_grpc.MaintenanceStub(channel)
        self.cluster = _stubs.rpc_grpc.ClusterStub(channel)
        self.tokens: dict[str, str] = {"bogus": "bogus"}
        self.out: list[Record] = []

    def metadata(self, who: str | None) -> tuple[tuple[str, str], ...] | None:
        if who is None:
            return None
        key = "token"
        if who.startswith("authz:"):
            key, who = "authorization", who.removeprefix("authz:")
        return ((key, self.tokens.get(who, who)),)

    def call(
        self,
        label: str,
        method: Callable[..., Any],
        request: Message,
        who: str | None = None,
        keep: Callable[[Any], Any] = _normalise,
    ) -> Any:
        try:
            resp = method(request, metadata=self.metadata(who), timeout=WAIT)
        except grpc.RpcError as exc:
            self.out.append((label, who, "error", exc.code(), exc.details()))
            return None
        self.out.append((label, who, "ok", keep(resp)))
        return resp

    def login(self, name: str, password: str) -> None:
        req = rpc.AuthenticateRequest(name=name, password=password)
        resp = self.call(f"authenticate {name}", self.auth.Authenticate, req)
        if resp is not None:
            self.tokens[name] = resp.token

    def put(self, key: bytes, who: str | None, **kw: Any) -> None:
        req = rpc.PutRequest(key=key, value=b"v", **kw)
        self.call(f"put {key!r} {kw}", self.kv.Put, req, who)

    def get(self, key: bytes, end: bytes, who: str | None) -> None:
        self.call(
            f"range {key!r}..{end!r}", self.kv.Range, rpc.RangeRequest(key=key, range_end=end), who
        )

    def delete(self, key: bytes, end: bytes, who: str | None, prev_kv: bool = False) -> None:
        req = rpc.DeleteRangeRequest(key=key, range_end=end, prev_kv=prev_kv)
        self.call(f"delete {key!r}..{end!r} prev={prev_kv}", self.kv.DeleteRange, req, who)

    def grant_perm(
        self, role: str, ptype: int, key: bytes, end: bytes = b"", who: str | None = None
    ) -> None:
        req = rpc.AuthRoleGrantPermissionRequest(
            name=role,
            perm=Perm(permType=ptype, key=key, range_end=end),  # type: ignore[arg-type]
        )
        self.call(f"grant {role} {ptype} {key!r}..{end!r}", self.auth.RoleGrantPermission, req, who)

    def watch(
        self, label: str, who: str | None, key: bytes, end: bytes = b"", wid: int = 0
    ) -> None:
        with TokenWatch(self.channel, self.metadata(who)) as w:
            w.create(key, end, watch_id=wid)
            r = w.next()
        self.out.append(
            (
                label,
                who,
                "watch",
                r.watch_id,
                r.created,
                r.canceled,
                r.cancel_reason,
                r.header.revision,
            )
        )


def setup_users(s: Session) -> None:
    """Before enabling: users, roles and permissions, and the rules for enabling."""
    a = s.auth
    s.call(V35 + "status", a.AuthStatus, rpc.AuthStatusRequest())
    s.put(b"/x", "bogus")  # any token is invalid while auth is disabled
    s.get(b"/x", b"", "bogus")
    s.login("root", "rootpw")
    s.call("enable: no root", a.AuthEnable, rpc.AuthEnableRequest())
    s.call("add root", a.UserAdd, rpc.AuthUserAddRequest(name="root", password="rootpw"))
    s.call("enable: no root role", a.AuthEnable, rpc.AuthEnableRequest())
    s.call("root role", a.UserGrantRole, rpc.AuthUserGrantRoleRequest(user="root", role="root"))
    for name, pw in (("u", "upw"), ("v", "vpw"), ("", "x"), ("u", "again"), ("e", "")):
        s.call(f"add {name}", a.UserAdd, rpc.AuthUserAddRequest(name=name, password=pw))
    nopw = rpc.AuthUserAddRequest(name="np", options=_pb.auth.UserAddOptions(no_password=True))
    s.call("add np", a.UserAdd, nopw)
    for role in ("r", "", "r", "spare"):
        s.call(f"role add {role}", a.RoleAdd, rpc.AuthRoleAddRequest(name=role))
    s.grant_perm("r", Perm.READ, b"/r/", b"/r0")
    s.grant_perm("r", Perm.WRITE, b"/w")
    s.grant_perm("r", Perm.READWRITE, b"/rw/a", b"/rw/c")
    s.grant_perm("r", Perm.READ, b"/z", b"\x00")
    s.grant_perm("r", Perm.READ, b"/w")  # the same key and end: changes the type...
    s.grant_perm("r", Perm.WRITE, b"/w")  # ...and back
    s.grant_perm("nope", Perm.READ, b"/a")
    if not s.is_34:  # etcd 3.4.23 panics applying a grant without a permission
        no_perm = rpc.AuthRoleGrantPermissionRequest(name="r")
        s.call(V35 + "perm not given", a.RoleGrantPermission, no_perm)
    for user, role in (("u", "r"), ("u", "nope"), ("nobody", "r"), ("u", "r")):
        req = rpc.AuthUserGrantRoleRequest(user=user, role=role)
        s.call(f"grant role {user} {role}", a.UserGrantRole, req)
    s.call("get u", a.UserGet, rpc.AuthUserGetRequest(name="u"))
    s.call("get r", a.RoleGet, rpc.AuthRoleGetRequest(role="r"))
    s.call("users", a.UserList, rpc.AuthUserListRequest())
    s.call("roles", a.RoleList, rpc.AuthRoleListRequest())
    s.call(V35 + "status", a.AuthStatus, rpc.AuthStatusRequest())
    for key in (b"/r/1", b"/r/2", b"/w", b"/rw/b", b"/x", b"/z/1"):
        s.put(key, None)
    s.call("enable", a.AuthEnable, rpc.AuthEnableRequest())


def logins(s: Session) -> None:
    a = s.auth
    s.call(V35 + "status: no user", a.AuthStatus, rpc.AuthStatusRequest())
    s.call("enable again: no user", a.AuthEnable, rpc.AuthEnableRequest())
    s.login("root", "wrong")
    s.login("nobody", "x")
    s.login("np", "")
    s.login("root", "rootpw")
    s.login("u", "upw")
    s.login("v", "vpw")
    s.login("e", "")  # an empty password is a password to etcd's API
    s.login("e", "x")
    s.call(V35 + "status", a.AuthStatus, rpc.AuthStatusRequest(), "root")
    s.call(V35 + "status", a.AuthStatus, rpc.AuthStatusRequest(), "authz:root")
    s.call(V35 + "status", a.AuthStatus, rpc.AuthStatusRequest(), "u")
    s.call("enable again", a.AuthEnable, rpc.AuthEnableRequest(), "root")
    s.call("users", a.UserList, rpc.AuthUserListRequest(), "root")


def kv_checks(s: Session) -> None:
    """A limited user's reads and writes, and the same with no token or a bad one."""
    for who in (None, "bogus", "v"):
        s.get(b"/r/1", b"", who)
        s.put(b"/w", who)
    s.get(b"/r/1", b"", "u")
    s.get(b"/r/", b"/r0", "u")
    s.get(b"/r/", b"/r1", "u")  # past the permission
    s.get(b"\x00", b"\x00", "u")
    s.get(b"/z", b"\x00", "u")  # from-key permission
    s.get(b"/y", b"\x00", "u")
    s.get(b"/r/1", b"", "authz:u")
    s.put(b"/w", "u")
    s.put(b"/w", "u", prev_kv=True)  # needs read on /w too
    s.put(b"/r/1", "u")
    s.put(b"/rw/b", "u", prev_kv=True)
    s.put(b"/x", "root")
    s.delete(b"/rw/a", b"/rw/c", "u")
    s.delete(b"/rw/a", b"\x00", "u")
    s.delete(b"/w", b"", "u", prev_kv=True)
    s.put(b"/w", "u")
    s.call("compact: no token", s.kv.Compact, rpc.CompactionRequest(revision=2))
    s.call("compact: bogus", s.kv.Compact, rpc.CompactionRequest(revision=3), "bogus")
    txns = {
        "read-compare write": rpc.TxnRequest(
            compare=[rpc.Compare(key=b"/r/1", target=rpc.Compare.VERSION, version=0)],
            success=[rpc.RequestOp(request_put=rpc.PutRequest(key=b"/w", value=b"t"))],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=b"/r/2"))],
        ),
        "compare outside": rpc.TxnRequest(
            compare=[rpc.Compare(key=b"/x", target=rpc.Compare.VERSION, version=0)]
        ),
        "failure op outside": rpc.TxnRequest(
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=b"/x"))]
        ),
        "read-only": rpc.TxnRequest(
            success=[rpc.RequestOp(request_range=rpc.RangeRequest(key=b"/r/1"))]
        ),
        "delete prev_kv": rpc.TxnRequest(
            success=[
                rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=b"/w", prev_kv=True))
            ]
        ),
        "nested write outside": rpc.TxnRequest(
            success=[
                rpc.RequestOp(
                    request_txn=rpc.TxnRequest(
                        success=[rpc.RequestOp(request_put=rpc.PutRequest(key=b"/x", value=b"n"))]
                    )
                )
            ]
        ),
    }
    for name, txn in txns.items():
        for who in ("u", None):
            s.call(f"txn {name}", s.kv.Txn, txn, who)


def lease_checks(s: Session) -> None:
    lease = s.lease
    s.call("grant: no token", lease.LeaseGrant, rpc.LeaseGrantRequest(ID=7001, TTL=60))
    s.call("grant: bogus", lease.LeaseGrant, rpc.LeaseGrantRequest(ID=7009, TTL=60), "bogus")
    s.call("grant", lease.LeaseGrant, rpc.LeaseGrantRequest(ID=7002, TTL=60), "root")
    s.put(b"/w", "u", lease=7001)
    s.put(b"/x", "root", lease=7002)
    s.put(b"/w", "u", lease=7002)  # the lease holds /x: u may not write it
    s.put(b"/w", "u", lease=7777)  # no such lease
    for who in ("u", None, "bogus"):
        s.call("revoke 7002", lease.LeaseRevoke, rpc.LeaseRevokeRequest(ID=7002), who)
    s.call("revoke 7001", lease.LeaseRevoke, rpc.LeaseRevokeRequest(ID=7001), "u")
    s.call("revoke 7003", lease.LeaseRevoke, rpc.LeaseRevokeRequest(ID=7003), "u")
    s.call(
        "ttl",
        lease.LeaseTimeToLive,
        rpc.LeaseTimeToLiveRequest(ID=7002),
        "bogus",
        keep=lambda r: (r.ID, r.grantedTTL),
    )
    s.call("leases", lease.LeaseLeases, rpc.LeaseLeasesRequest(), "bogus")


def maintenance_checks(s: Session) -> None:
    mt, cl = s.mt, s.cluster
    rev = lambda r: r.header.revision  # noqa: E731  # hashes differ; revisions must not
    for who in ("u", None, "bogus", "root"):
        s.call("hashkv", mt.HashKV, rpc.HashKVRequest(), who, keep=rev)
        s.call("hash", mt.Hash, rpc.HashRequest(), who, keep=rev)
        s.call("defragment", mt.Defragment, rpc.DefragmentRequest(), who)
        s.call("status", mt.Status, rpc.StatusRequest(), who, keep=lambda r: r.header.revision)
        s.call(
            "members", cl.MemberList, rpc.MemberListRequest(), who, keep=lambda r: len(r.members)
        )
        add = rpc.MemberAddRequest(peerURLs=["http://127.0.0.1:9"])
        if who != "root":  # root would really add a member on etcd
            s.call("member add", cl.MemberAdd, add, who)
    alarm = rpc.AlarmRequest(action=rpc.AlarmRequest.GET)
    s.call(V35 + "alarm", mt.Alarm, alarm)
    s.call(V35 + "alarm", mt.Alarm, alarm, "bogus")


def watch_checks(s: Session) -> None:
    s.watch("watch prefix", "u", b"/r/", b"/r0")
    s.watch("watch key", "u", b"/r/1")
    s.watch("watch from-key (checked as one key)", "u", b"/r/1", b"\x00")
    s.watch(V35 + "watch outside", "u", b"/x")
    s.watch(V35 + "watch outside with id", "u", b"/x", wid=5)
    s.watch(V35 + "watch no token", None, b"/r/1")
    s.watch(V35 + "watch bogus", "bogus", b"/r/1")
    s.watch("watch root", "root", b"\x00", b"\x00")
    s.watch("watch authorization key", "authz:u", b"/r/1")


def admin_checks(s: Session) -> None:
    a = s.auth
    s.call("u adds a user", a.UserAdd, rpc.AuthUserAddRequest(name="w", password="x"), "u")
    s.call("u adds a role", a.RoleAdd, rpc.AuthRoleAddRequest(name="x"), "u")
    s.call("u gets itself", a.UserGet, rpc.AuthUserGetRequest(name="u"), "u")
    s.call("u gets root", a.UserGet, rpc.AuthUserGetRequest(name="root"), "u")
    s.call("no user gets ''", a.UserGet, rpc.AuthUserGetRequest(name=""))
    s.call("u gets its role", a.RoleGet, rpc.AuthRoleGetRequest(role="r"), "u")
    s.call("u gets spare", a.RoleGet, rpc.AuthRoleGetRequest(role="spare"), "u")
    s.call("u lists roles", a.RoleList, rpc.AuthRoleListRequest(), "u")
    s.call(
        "root loses root",
        a.UserRevokeRole,
        rpc.AuthUserRevokeRoleRequest(name="root", role="root"),
        "root",
    )
    s.call("delete root", a.UserDelete, rpc.AuthUserDeleteRequest(name="root"), "root")
    s.call("delete role root", a.RoleDelete, rpc.AuthRoleDeleteRequest(role="root"), "root")
    revoke = rpc.AuthRoleRevokePermissionRequest(role="r", key=b"/w")
    s.call("revoke /w", a.RoleRevokePermission, revoke, "root")
    s.call("revoke /w again", a.RoleRevokePermission, revoke, "root")
    s.put(b"/w", "u")
    s.call("get r", a.RoleGet, rpc.AuthRoleGetRequest(role="r"), "root")
    unrole = rpc.AuthUserRevokeRoleRequest(name="u", role="r")
    s.call("u loses r", a.UserRevokeRole, unrole, "root")
    s.call("u loses r again", a.UserRevokeRole, unrole, "root")
    s.get(b"/r/1", b"", "u")
    chpw = rpc.AuthUserChangePasswordRequest(name="u", password="new")
    s.call("u new password", a.UserChangePassword, chpw, "root")
    s.get(b"/r/1", b"", "u")  # its token died with the password
    s.login("u", "upw")
    s.login("u", "new")
    s.call("u gets itself", a.UserGet, rpc.AuthUserGetRequest(name="u"), "u")
    s.call("delete u", a.UserDelete, rpc.AuthUserDeleteRequest(name="u"), "root")
    s.call("u gets itself", a.UserGet, rpc.AuthUserGetRequest(name="u"), "u")
    s.call("delete u again", a.UserDelete, rpc.AuthUserDeleteRequest(name="u"), "root")
    s.call("delete r", a.RoleDelete, rpc.AuthRoleDeleteRequest(role="r"), "root")
    s.call("users", a.UserList, rpc.AuthUserListRequest(), "root")
    s.call("roles", a.RoleList, rpc.AuthRoleListRequest(), "root")
    s.call(V35 + "status", a.AuthStatus, rpc.AuthStatusRequest(), "root")


def after_disable(s: Session) -> None:
    a = s.auth
    s.call("disable: no user", a.AuthDisable, rpc.AuthDisableRequest())
    s.call("disable: v", a.AuthDisable, rpc.AuthDisableRequest(), "v")
    s.call("disable", a.AuthDisable, rpc.AuthDisableRequest(), "root")
    s.put(b"/x", "root")  # its token died with auth
    s.put(b"/x", None)
    s.get(b"\x00", b"\x00", None)
    s.call(V35 + "status", a.AuthStatus, rpc.AuthStatusRequest())
    s.login("root", "rootpw")
    s.call("disable again", a.AuthDisable, rpc.AuthDisableRequest())
    s.call(
        "root loses root", a.UserRevokeRole, rpc.AuthUserRevokeRoleRequest(name="root", role="root")
    )
    s.call("delete root", a.UserDelete, rpc.AuthUserDeleteRequest(name="root"))
    s.call("users", a.UserList, rpc.AuthUserListRequest())


def run_script(endpoint: str, is_34: bool = False) -> list[Record]:
    with grpc.insecure_channel(endpoint) as ch:
        s = Session(ch, is_34)
        for step in (
            setup_users,
            logins,
            kv_checks,
            lease_checks,
            maintenance_checks,
            watch_checks,
            admin_checks,
            after_disable,
        ):
            step(s)
        return s.out


# ---- running it on each server -------------------------------------------------------------


def _binary(name: str) -> Path:
    try:
        return _BINARIES[name]()[0]
    except BackendUnavailable as exc:
        pytest.skip(f"{name} unavailable: {exc}")


@contextmanager
def _reference(ttl: float = 300.0) -> Iterator[str]:
    with Server(auth_token_ttl=ttl) as srv:
        yield srv.endpoint


@contextmanager
def _real(name: str, ttl: int = 300) -> Iterator[str]:
    with running_etcd(_binary(name), name, extra_args=[f"--auth-token-ttl={ttl}"]) as etcd:
        yield etcd.endpoints[0]


def _comparable(records: list[Record], binary_name: str) -> list[Record]:
    if binary_name == "etcd35":
        return records
    return [r for r in records if not str(r[0]).startswith(V35)]


def _assert_same(ours: list[Record], theirs: list[Record]) -> None:
    for mine, real in zip(ours, theirs, strict=False):
        assert mine == real
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("binary_name", sorted(_BINARIES))
def test_reference_server_answers_auth_as_real_etcd(binary_name: str) -> None:
    is_34 = binary_name == "etcd34"
    with _real(binary_name) as ep:
        theirs = run_script(ep, is_34)
    with _reference() as ep:
        ours = run_script(ep, is_34)
    _assert_same(_comparable(ours, binary_name), _comparable(theirs, binary_name))


# ---- token TTL -----------------------------------------------------------------------------


def ttl_script(endpoint: str) -> list[Record]:
    """Keep a token alive past its TTL by using it, then leave it idle past the TTL."""
    with grpc.insecure_channel(endpoint) as ch:
        s = Session(ch)
        a = s.auth
        s.call("add root", a.UserAdd, rpc.AuthUserAddRequest(name="root", password="pw"))
        s.call("root role", a.UserGrantRole, rpc.AuthUserGrantRoleRequest(user="root", role="root"))
        s.call("enable", a.AuthEnable, rpc.AuthEnableRequest())
        s.login("root", "pw")
        started = time.monotonic()
        for _ in range(2 * TTL + 1):  # used every second: it outlives its TTL
            s.put(b"/k", "root")
            time.sleep(1.0)  # spacing the uses out in time is the point here
        s.out.append(("kept past its ttl", time.monotonic() - started > TTL + 1))
        time.sleep(TTL + 1.5)  # idle: etcd drops it within a second past the TTL
        s.put(b"/k", "root")
        s.watch(V35 + "watch with expired token", "root", b"/k")
        s.login("root", "pw")
        s.put(b"/k", "root")
        return s.out


@pytest.mark.parametrize("binary_name", sorted(_BINARIES))
def test_token_expires_after_ttl_idle_as_real_etcd(binary_name: str) -> None:
    with _real(binary_name, TTL) as ep:
        theirs = ttl_script(ep)
    with _reference(TTL) as ep:
        ours = ttl_script(ep)
    _assert_same(_comparable(ours, binary_name), _comparable(theirs, binary_name))
    expired = [r for r in ours if r[0] == "put b'/k' {}"][-2]
    assert expired[2:] == (
        "error",
        grpc.StatusCode.UNAUTHENTICATED,
        "etcdserver: invalid auth token",
    )


# ---- restart ------------------------------------------------------------------------------


def before_restart(s: Session) -> None:
    a = s.auth
    s.call("add root", a.UserAdd, rpc.AuthUserAddRequest(name="root", password="pw"))
    s.call("root role", a.UserGrantRole, rpc.AuthUserGrantRoleRequest(user="root", role="root"))
    s.call("enable", a.AuthEnable, rpc.AuthEnableRequest())
    s.login("root", "pw")
    s.put(b"/k", "root")


def after_restart(s: Session) -> None:
    grpc.channel_ready_future(s.channel).result(timeout=WAIT)  # reconnected (bounded)
    s.put(b"/k", "root")  # the token is gone
    s.put(b"/k", None)  # auth is still enabled
    s.login("root", "pw")  # the user is still there
    s.put(b"/k", "root")
    s.call("users", s.auth.UserList, rpc.AuthUserListRequest(), "root")


def _restart_real(name: str) -> list[Record]:
    client, peer = free_ports(2)
    member = EtcdProcess(_binary(name), client_port=client, peer_port=peer)
    try:
        member.start()
        member.wait_serving()
        with grpc.insecure_channel(member.endpoint) as ch:
            s = Session(ch)
            before_restart(s)
            member.stop()
            member.start()
            member.wait_serving()
            after_restart(s)
            return s.out
    finally:
        member.remove()


def _restart_reference() -> list[Record]:
    with Server() as srv, grpc.insecure_channel(srv.endpoint) as ch:
        s = Session(ch)
        before_restart(s)
        srv.restart()
        after_restart(s)
        return s.out


def test_restart_keeps_users_and_drops_tokens_as_real_etcd() -> None:
    theirs = _restart_real("etcd35")
    ours = _restart_reference()
    _assert_same(ours, theirs)
    assert ours[-5][2:] == (
        "error",
        grpc.StatusCode.UNAUTHENTICATED,
        "etcdserver: invalid auth token",
    )


# ---- a seeded random sequence --------------------------------------------------------------

_KEYS = [b"a", b"b", b"b0", b"c", b"ca", b"d", b"e"]


def _random_range(rng: random.Random) -> tuple[bytes, bytes]:
    key = rng.choice(_KEYS)
    kind = rng.randrange(3)
    if kind == 0:
        return key, b""
    if kind == 1:
        return key, b"\x00"
    return key, rng.choice([k for k in _KEYS if k > key] or [b"z"])


def random_script(endpoint: str, seed: int) -> list[Record]:
    rng = random.Random(seed)
    with grpc.insecure_channel(endpoint) as ch:
        s = Session(ch)
        a = s.auth
        for name, pw in (("root", "pw"), ("u", "upw")):
            s.call("add", a.UserAdd, rpc.AuthUserAddRequest(name=name, password=pw))
        s.call("root role", a.UserGrantRole, rpc.AuthUserGrantRoleRequest(user="root", role="root"))
        for role in ("r1", "r2"):
            s.call("role", a.RoleAdd, rpc.AuthRoleAddRequest(name=role))
            s.call("grant role", a.UserGrantRole, rpc.AuthUserGrantRoleRequest(user="u", role=role))
        for key in _KEYS:
            s.put(key, None)
        s.call("enable", a.AuthEnable, rpc.AuthEnableRequest())
        s.login("root", "pw")
        s.login("u", "upw")
        for _ in range(60):
            step = rng.randrange(6)
            key, end = _random_range(rng)
            if step == 0:
                s.grant_perm(rng.choice(["r1", "r2"]), rng.randrange(3), key, end, "root")
            elif step == 1:
                req = rpc.AuthRoleRevokePermissionRequest(
                    role=rng.choice(["r1", "r2"]), key=key, range_end=end
                )
                s.call("revoke", a.RoleRevokePermission, req, "root")
            elif step == 2:
                s.get(key, end, "u")
            elif step == 3:
                s.put(key, "u", prev_kv=rng.random() < 0.3)
            elif step == 4:
                s.delete(key, end, "u", prev_kv=rng.random() < 0.3)
            else:
                s.watch("watch", "u", key, end)
        s.call("r1", a.RoleGet, rpc.AuthRoleGetRequest(role="r1"), "root")
        s.call("r2", a.RoleGet, rpc.AuthRoleGetRequest(role="r2"), "root")
        return s.out


@pytest.mark.parametrize("seed", [1, 2])
def test_random_permissions_as_real_etcd(seed: int) -> None:
    with _real("etcd35") as ep:
        theirs = random_script(ep, seed)
    with _reference() as ep:
        ours = random_script(ep, seed)
    _assert_same(ours, theirs)
