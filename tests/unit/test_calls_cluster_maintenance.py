"""The Cluster and Maintenance descriptions (etcd3py._calls): request, retry class, view, checks.

Also that the Maintenance calls sent to a named member run their description on that
member's channel (a fake transport records what is sent where).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from etcd3py import _pb, _stubs
from etcd3py._calls import Call
from etcd3py._calls import cluster as ccalls
from etcd3py._calls import maintenance as mcalls
from etcd3py._transport import Transport, check_ctx, check_timeout
from etcd3py.cluster import (
    Cluster,
    MemberAddResponse,
    MemberListResponse,
    MemberPromoteResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
)
from etcd3py.config import Config, parse_endpoints
from etcd3py.errors import ArgumentTypeError, InvalidArgumentError
from etcd3py.maintenance import (
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    DowngradeAction,
    DowngradeResponse,
    HashKVResponse,
    Maintenance,
    MoveLeaderResponse,
    StatusResponse,
)

rpc = _pb.rpc
URLS = ["http://127.0.0.1:2380"]

DESCRIBED: list[tuple[Call[Any], str, str, Any, type, bool]] = [
    (
        ccalls.member_list(True),
        "cluster",
        "MemberList",
        rpc.MemberListRequest(linearizable=True),
        MemberListResponse,
        True,
    ),
    (
        ccalls.member_list(False),
        "cluster",
        "MemberList",
        rpc.MemberListRequest(linearizable=False),
        MemberListResponse,
        True,
    ),
    (
        ccalls.member_add(URLS, False),
        "cluster",
        "MemberAdd",
        rpc.MemberAddRequest(peerURLs=URLS),
        MemberAddResponse,
        False,
    ),
    (
        ccalls.member_add(URLS, True),
        "cluster",
        "MemberAdd",
        rpc.MemberAddRequest(peerURLs=URLS, isLearner=True),
        MemberAddResponse,
        False,
    ),
    (
        ccalls.member_remove(2**64 - 1),
        "cluster",
        "MemberRemove",
        rpc.MemberRemoveRequest(ID=2**64 - 1),
        MemberRemoveResponse,
        False,
    ),
    (
        ccalls.member_update(7, URLS),
        "cluster",
        "MemberUpdate",
        rpc.MemberUpdateRequest(ID=7, peerURLs=URLS),
        MemberUpdateResponse,
        False,
    ),
    (
        ccalls.member_promote(7),
        "cluster",
        "MemberPromote",
        rpc.MemberPromoteRequest(ID=7),
        MemberPromoteResponse,
        False,
    ),
    (mcalls.status(), "maintenance", "Status", rpc.StatusRequest(), StatusResponse, True),
    (
        mcalls.alarm_list(),
        "maintenance",
        "Alarm",
        rpc.AlarmRequest(action=rpc.AlarmRequest.GET, alarm=rpc.NONE),
        AlarmResponse,
        True,
    ),
    (
        mcalls.alarm_activate(5, AlarmType.NOSPACE),
        "maintenance",
        "Alarm",
        rpc.AlarmRequest(action=rpc.AlarmRequest.ACTIVATE, memberID=5, alarm=rpc.NOSPACE),
        AlarmResponse,
        False,
    ),
    (
        mcalls.alarm_deactivate(5, AlarmType.CORRUPT),
        "maintenance",
        "Alarm",
        rpc.AlarmRequest(action=rpc.AlarmRequest.DEACTIVATE, memberID=5, alarm=rpc.CORRUPT),
        AlarmResponse,
        False,
    ),
    (
        mcalls.defragment(),
        "maintenance",
        "Defragment",
        rpc.DefragmentRequest(),
        DefragmentResponse,
        False,
    ),
    (
        mcalls.hash_kv(9),
        "maintenance",
        "HashKV",
        rpc.HashKVRequest(revision=9),
        HashKVResponse,
        True,
    ),
    (
        mcalls.move_leader(3),
        "maintenance",
        "MoveLeader",
        rpc.MoveLeaderRequest(targetID=3),
        MoveLeaderResponse,
        False,
    ),
]
for _action, _repeatable in [("VALIDATE", True), ("ENABLE", False), ("CANCEL", False)]:
    DESCRIBED.append(
        (
            mcalls.downgrade(DowngradeAction[_action], "3.4"),
            "maintenance",
            "Downgrade",
            rpc.DowngradeRequest(
                action=rpc.DowngradeRequest.DowngradeAction.Value(_action), version="3.4"
            ),
            DowngradeResponse,
            _repeatable,
        )
    )


@pytest.mark.parametrize(
    ("call", "service", "method", "request_", "view", "repeatable"),
    DESCRIBED,
    ids=[f"{d[2]}-{i}" for i, d in enumerate(DESCRIBED)],
)
def test_description(
    call: Call[Any], service: str, method: str, request_: Any, view: type, repeatable: bool
) -> None:
    assert (call.service, call.method, call.request) == (service, method, request_)
    assert call.repeatable is repeatable
    stub = getattr(_stubs.rpc_grpc, f"{service.title()}Stub")(FakeChannel("x"))
    assert getattr(stub, method) == ("x", f"/etcdserverpb.{service.title()}/{method}")
    answer = getattr(rpc, type(request_).__name__.replace("Request", "Response"))()
    assert isinstance(call.wrap(answer), view)


def test_alarm_clear_sends_the_listed_alarm_back_unchanged() -> None:
    raised = rpc.AlarmMember(memberID=11, alarm=rpc.NOSPACE)
    call = mcalls.alarm_clear(raised)
    assert call.request == rpc.AlarmRequest(
        action=rpc.AlarmRequest.DEACTIVATE, memberID=11, alarm=rpc.NOSPACE
    )
    assert not call.repeatable


BAD: list[tuple[Callable[[], object], type[Exception], str]] = [
    (lambda: ccalls.member_list(1), ArgumentTypeError, "linearizable must be a bool"),  # type: ignore[arg-type]
    (lambda: ccalls.member_add("http://a:1", False), ArgumentTypeError, "list of strings"),
    (lambda: ccalls.member_add([1], False), ArgumentTypeError, "must hold strings"),  # type: ignore[list-item]
    (lambda: ccalls.member_add(URLS, None), ArgumentTypeError, "is_learner must be a bool"),  # type: ignore[arg-type]
    (lambda: ccalls.member_remove(-1), InvalidArgumentError, "id"),
    (lambda: ccalls.member_promote(2**64), InvalidArgumentError, "id"),
    (lambda: ccalls.member_update("7", URLS), ArgumentTypeError, "id"),  # type: ignore[arg-type]
    (lambda: mcalls.alarm_deactivate(-1, AlarmType.NONE), InvalidArgumentError, "member_id"),
    (lambda: mcalls.alarm_deactivate(0, 9), InvalidArgumentError, "AlarmType"),  # type: ignore[arg-type]
    (lambda: mcalls.alarm_activate(0, "NOSPACE"), ArgumentTypeError, "AlarmType"),  # type: ignore[arg-type]
    (lambda: mcalls.hash_kv(2**63), InvalidArgumentError, "rev"),
    (lambda: mcalls.move_leader(-3), InvalidArgumentError, "transferee_id"),
    (lambda: mcalls.downgrade(7, "3.4"), InvalidArgumentError, "DowngradeAction"),  # type: ignore[arg-type]
    (lambda: mcalls.downgrade(True, "3.4"), ArgumentTypeError, "DowngradeAction"),  # type: ignore[arg-type]
    (lambda: mcalls.downgrade(DowngradeAction.ENABLE, 3.4), ArgumentTypeError, "version"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("describe", "error", "words"), BAD)
def test_arguments_are_checked_before_anything_is_sent(
    describe: Callable[[], object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        describe()


class FakeChannel:
    """Hands out stub methods that say which channel and RPC they are."""

    def __init__(self, name: str) -> None:
        self.name = name

    def unary_unary(self, path: str, *args: Any, **kwargs: Any) -> tuple[str, str]:
        return (self.name, path)

    unary_stream = unary_unary  # Snapshot: made by the stub, never called here


class FakeTransport:
    """Records the calls (as ``(channel, rpc path)``) and answers empty responses."""

    def __init__(self) -> None:
        self.sent: list[tuple[object, Any, bool]] = []
        self.maintenance = _stubs.rpc_grpc.MaintenanceStub(FakeChannel("client"))  # type: ignore[arg-type]
        self.cluster = _stubs.rpc_grpc.ClusterStub(FakeChannel("client"))  # type: ignore[arg-type]
        self.endpoints = ("leader:2379",)
        self.config = Config(endpoints=parse_endpoints("leader:2379"))

    @contextmanager
    def endpoint_channel(self, endpoint: str) -> Iterator[FakeChannel]:
        yield FakeChannel(endpoint)

    def call(self, method: Any, request: Any, *, repeatable: bool = False, **kw: Any) -> Any:
        check_ctx(kw.get("ctx"))
        check_timeout(kw.get("timeout"))
        self.sent.append((method, request, repeatable))
        answer = getattr(rpc, type(request).__name__.replace("Request", "Response"))()
        if isinstance(request, rpc.StatusRequest):  # the member asked is the leader
            answer.header.member_id = answer.leader = 1
        return answer

    def run(self, call: Call[Any], **kwargs: Any) -> Any:
        method = getattr(getattr(self, call.service), call.method)
        return call.wrap(self.call(method, call.request, repeatable=call.repeatable, **kwargs))

    # the real one: it opens endpoint_channel() and goes through call(), both faked above
    run_at = Transport.run_at


def test_named_member_calls_run_their_description_on_that_members_channel() -> None:
    t = FakeTransport()
    m = Maintenance(t)  # type: ignore[arg-type]
    assert isinstance(m.status("a:1"), StatusResponse)
    assert isinstance(m.defragment("b:2"), DefragmentResponse)
    assert isinstance(m.hash_kv("c:3", 4), HashKVResponse)
    assert isinstance(m.move_leader(2), MoveLeaderResponse)
    prefix = "/etcdserverpb.Maintenance/"
    assert t.sent == [
        (("a:1", prefix + "Status"), rpc.StatusRequest(), True),
        (("b:2", prefix + "Defragment"), rpc.DefragmentRequest(), False),
        (("c:3", prefix + "HashKV"), rpc.HashKVRequest(revision=4), True),
        (("leader:2379", prefix + "Status"), rpc.StatusRequest(), True),
        (("leader:2379", prefix + "MoveLeader"), rpc.MoveLeaderRequest(targetID=2), False),
    ]


def test_client_channel_calls_run_through_transport_run() -> None:
    t = FakeTransport()
    Cluster(t).member_add_as_learner(URLS)  # type: ignore[arg-type]
    Maintenance(t).downgrade(DowngradeAction.VALIDATE, "3.4")  # type: ignore[arg-type]
    assert t.sent == [
        (
            ("client", "/etcdserverpb.Cluster/MemberAdd"),
            rpc.MemberAddRequest(peerURLs=URLS, isLearner=True),
            False,
        ),
        (
            ("client", "/etcdserverpb.Maintenance/Downgrade"),
            rpc.DowngradeRequest(action=rpc.DowngradeRequest.VALIDATE, version="3.4"),
            True,
        ),
    ]
