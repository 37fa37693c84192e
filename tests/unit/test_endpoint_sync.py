"""Endpoint changes without a server: the switchable channel, member URLs, the auto-sync thread."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from etcd3py import Client, _pb, _stubs
from etcd3py._channel import SwitchableChannel
from etcd3py._endpoint_sync import (
    AutoSync,
    endpoints_changed,
    endpoints_from_members,
    usable_endpoints,
)
from etcd3py.config import Endpoint, check_interval
from etcd3py.errors import ArgumentTypeError, InvalidArgumentError, UnavailableError


class FakeCall:
    """A streaming call: ``end()`` runs the callbacks gRPC would run at termination."""

    def __init__(self, channel: FakeChannel) -> None:
        self.channel = channel
        self.callbacks: list[Callable[[], None]] = []
        self.ended = False

    def add_callback(self, callback: Callable[[], None]) -> bool:
        if self.ended:
            return False
        self.callbacks.append(callback)
        return True

    def end(self) -> None:
        self.ended = True
        for callback in self.callbacks:
            callback()


class FakeFuture:
    def __init__(self, channel: FakeChannel) -> None:
        self.channel = channel
        self.callbacks: list[Callable[[FakeFuture], None]] = []

    def add_done_callback(self, callback: Callable[[FakeFuture], None]) -> None:
        self.callbacks.append(callback)

    def finish(self) -> None:
        for callback in self.callbacks:
            callback(self)


class FakeMethod:
    def __init__(self, channel: FakeChannel, method: str, ended: bool = False) -> None:
        self.channel, self.method, self.ended = channel, method, ended

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.channel.calls.append(self.method)
        if self.method.endswith("Watch") or self.method.endswith("LeaseKeepAlive"):
            call = FakeCall(self.channel)
            call.ended = self.ended
            return call
        return (self.channel.name, self.method)

    def future(self, *args: Any, **kwargs: Any) -> FakeFuture:
        self.channel.calls.append(self.method)
        return FakeFuture(self.channel)


@dataclass
class FakeChannel:
    """Just enough of ``grpc.Channel`` for the forwarders; counts what it was asked."""

    name: str
    closed: bool = False
    calls: list[str] = field(default_factory=list)
    ended_streams: bool = False

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> FakeMethod:
        return FakeMethod(self, method)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> FakeMethod:
        return FakeMethod(self, method, ended=self.ended_streams)

    def close(self) -> None:
        self.closed = True


def switchable(first: FakeChannel) -> SwitchableChannel:
    return SwitchableChannel(first)  # type: ignore[arg-type]


def test_stubs_follow_the_current_channel_and_an_idle_old_one_closes_at_once() -> None:
    a, b = FakeChannel("a"), FakeChannel("b")
    channel = switchable(a)
    stub = _stubs.rpc_grpc.KVStub(channel)
    assert stub.Range(_pb.rpc.RangeRequest()) == ("a", "/etcdserverpb.KV/Range")
    channel.switch(b)  # type: ignore[arg-type]
    assert a.closed and not b.closed and channel.retired_count == 0
    assert stub.Range(_pb.rpc.RangeRequest()) == ("b", "/etcdserverpb.KV/Range")
    assert channel.current is b  # type: ignore[comparison-overlap]


def test_a_running_stream_keeps_its_channel_open_until_it_ends() -> None:
    a, b = FakeChannel("a"), FakeChannel("b")
    channel = switchable(a)
    stub = _stubs.rpc_grpc.WatchStub(channel)
    call: Any = stub.Watch(iter(()))
    channel.switch(b)  # type: ignore[arg-type]
    assert not a.closed and channel.retired_count == 1
    again: Any = stub.Watch(iter(()))  # a reconnect goes to the new channel
    assert again.channel is b
    call.end()
    call.end()  # gRPC runs callbacks once; a second run must not count twice
    assert a.closed and channel.retired_count == 0 and not b.closed


def test_a_pending_future_keeps_its_channel_open_until_done() -> None:
    a, b = FakeChannel("a"), FakeChannel("b")
    channel = switchable(a)
    stub = _stubs.rpc_grpc.KVStub(channel)
    fut: Any = stub.Range.future(_pb.rpc.RangeRequest())
    channel.switch(b)  # type: ignore[arg-type]
    assert not a.closed
    fut.finish()
    assert a.closed


def test_a_stream_that_already_ended_releases_at_once() -> None:
    a, b = FakeChannel("a", ended_streams=True), FakeChannel("b")
    channel = switchable(a)
    _stubs.rpc_grpc.WatchStub(channel).Watch(iter(()))
    channel.switch(b)  # type: ignore[arg-type]
    assert a.closed


def test_close_closes_every_generation_and_refuses_calls() -> None:
    a, b = FakeChannel("a"), FakeChannel("b")
    channel = switchable(a)
    stub = _stubs.rpc_grpc.WatchStub(channel)
    stub.Watch(iter(()))
    channel.switch(b)  # type: ignore[arg-type]
    channel.close()
    assert a.closed and b.closed
    with pytest.raises(ValueError, match="closed channel"):
        stub.Watch(iter(()))


@dataclass
class M:
    name: str
    client_urls: list[str]
    is_learner: bool = False


class CountingChannel(FakeChannel):
    """A fake channel that records a call made after its close, and how often it closed."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.closes = 0
        self.late_calls = 0
        self.lock = threading.Lock()

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        def call(*_: Any, **__: Any) -> str:
            if self.closed:
                with self.lock:
                    self.late_calls += 1
            time.sleep(0)  # let a switch run while the call is counted
            if self.closed:
                with self.lock:
                    self.late_calls += 1
            return self.name

        return call

    def close(self) -> None:
        with self.lock:
            self.closes += 1
            self.closed = True


def test_calls_racing_switches_never_meet_a_closed_channel_and_each_closes_once() -> None:
    # No lock on the call path (see etcd3py._channel): 4 threads call while the main thread
    # switches 2,000 times; every retired channel must close exactly once, after its calls.
    switches = 2000
    channels = [CountingChannel(f"c{i}") for i in range(switches + 1)]
    channel = switchable(channels[0])
    stub = _stubs.rpc_grpc.KVStub(channel)
    stop = threading.Event()
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            for _ in range(100_000):
                if stop.is_set():
                    return
                stub.Range(_pb.rpc.RangeRequest())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads between almost every two bytecodes
    for t in threads:
        t.start()
    try:
        for nxt in channels[1:]:
            channel.switch(nxt)  # type: ignore[arg-type]
            time.sleep(0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        sys.setswitchinterval(interval)
    assert not errors and not any(t.is_alive() for t in threads)
    assert channel.retired_count == 0
    assert [c.closes for c in channels[:-1]] == [1] * switches and channels[-1].closes == 0
    assert sum(c.late_calls for c in channels) == 0
    channel.close()


def test_members_give_their_started_voting_client_urls() -> None:
    members = [
        M("m0", ["http://127.0.0.1:1", "http://127.0.0.1:1"]),
        M("learner", ["http://127.0.0.1:2"], is_learner=True),
        M("", []),  # added, not started
        M("m1", ["http://[::1]:3", "https://127.0.0.1:4", "ftp://x:5"]),
    ]
    assert endpoints_from_members(members, secure=False) == (
        Endpoint("127.0.0.1", 1),
        Endpoint("::1", 3),
    )
    assert endpoints_from_members(members, secure=True) == (Endpoint("127.0.0.1", 4, True),)
    assert endpoints_from_members([], secure=False) == ()


def test_an_empty_endpoint_list_is_refused_and_a_sync_needs_one_usable_url() -> None:
    one = (Endpoint("127.0.0.1", 1),)
    assert endpoints_changed(one, (Endpoint("127.0.0.1", 1),)) is False
    assert endpoints_changed(one, (Endpoint("127.0.0.1", 2),)) is True
    with pytest.raises(InvalidArgumentError, match="at least one endpoint is required"):
        endpoints_changed(one, ())
    with Client(["127.0.0.1:1"], dial_timeout=None) as client:  # no dial: nothing listens
        with pytest.raises(InvalidArgumentError, match="at least one endpoint is required"):
            client._transport.set_endpoints([])
        assert client.endpoints == ["127.0.0.1:1"]
    with pytest.raises(UnavailableError, match="names no usable client URL"):
        usable_endpoints([M("learner", ["http://127.0.0.1:2"], is_learner=True)], secure=False)


def wait_for(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10.0
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)  # polling the thread's counters


def test_auto_sync_runs_every_interval_survives_failures_and_stops_quickly() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def sync() -> None:
        with lock:
            calls.append(len(calls))
            if len(calls) % 2:
                raise UnavailableError("member list failed")

    auto = AutoSync(sync, 0.02)
    auto.start()
    wait_for(lambda: auto.runs >= 3 and auto.failures >= 3)
    started = time.monotonic()
    auto.stop()
    assert time.monotonic() - started < 1.0
    with lock:
        done = len(calls)
    assert done == auto.runs + auto.failures


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, InvalidArgumentError),
        (-1.0, InvalidArgumentError),
        (float("nan"), InvalidArgumentError),
        ("1", ArgumentTypeError),
        (True, ArgumentTypeError),
    ],
)
def test_bad_auto_sync_interval_is_refused_before_dialling(value: object, error: type) -> None:
    with pytest.raises(error):
        check_interval("auto_sync_interval", value)
    with pytest.raises(error, match="auto_sync_interval"):
        Client("127.0.0.1:1", auto_sync_interval=value)  # type: ignore[arg-type]
    check_interval("auto_sync_interval", None)
    check_interval("auto_sync_interval", 0.5)
