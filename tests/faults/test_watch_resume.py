"""Watches survive broken streams: every event once, in order, or an error that ends the watch.

The watching client dials the server through a :class:`~testserver.bridge.Bridge` (or the
reference server drops its streams, or a private etcd is SIGKILLed and restarted on the same
data dir and ports); the writing client talks to the server directly and logs the revision of
every put, which is what each watch must have seen afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py import Client, WatchResponse
from etcd3py.errors import CompactedError
from tests.backends import Backend, EtcdProcess, EtcdTools, free_ports
from testserver.bridge import Bridge

pytestmark = [pytest.mark.faults, pytest.mark.both_faces]

WAIT = 60.0
N_KEYS = 100
N_WATCHES = 200
N_PUTS = 2000


class Recorder:
    """Collects each callback watch's events as (key, mod_revision), and any error."""

    def __init__(self, n: int) -> None:
        self.events: list[list[tuple[str, int]]] = [[] for _ in range(n)]
        self.errors: list[BaseException | None] = [None] * n
        self._cond = threading.Condition()

    def callback(self, i: int) -> Callable[[WatchResponse], None]:
        def on_response(resp: WatchResponse) -> None:
            with self._cond:
                self.events[i].extend((e.kv.key.decode(), e.kv.mod_revision) for e in resp.events)
                if resp.err() is not None:
                    self.errors[i] = resp.err()
                self._cond.notify_all()

        return on_response

    def wait_for(self, expected: list[list[tuple[str, int]]], timeout: float = WAIT) -> None:
        """Wait until every watch has at least its expected count (or ended)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                behind = [
                    i
                    for i, want in enumerate(expected)
                    if len(self.events[i]) < len(want) and self.errors[i] is None
                ]
                if not behind:
                    return
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{len(behind)} watches behind, e.g. {behind[:5]}"
                self._cond.wait(min(remaining, 0.5))


def layout(prefix: str) -> tuple[list[str], list[tuple[str, bool]]]:
    """100 keys in 10 groups; 190 single-key watches and 10 group-prefix watches."""
    keys = [f"{prefix}g{i % 10}/k{i}" for i in range(N_KEYS)]
    watches = [(keys[i % N_KEYS], False) for i in range(N_WATCHES - 10)]
    watches += [(f"{prefix}g{g}/", True) for g in range(10)]
    return keys, watches


def expected_events(
    watches: list[tuple[str, bool]], log: list[tuple[str, int]]
) -> list[list[tuple[str, int]]]:
    return [
        [(k, r) for k, r in log if (k.startswith(key) if is_prefix else k == key)]
        for key, is_prefix in watches
    ]


Log = list[tuple[str, int]]  # (key, revision) of every put, in order
Break = Callable[[Log], None]  # breaks the watch streams; may write (and log) meanwhile


def run_resume(writer: Client, watcher: Client, prefix: str, breaks: dict[int, Break]) -> None:
    """Start the watches, write N_PUTS puts calling ``breaks[i]`` before put i, compare."""
    keys, watches = layout(prefix)
    rec = Recorder(len(watches))
    rev = writer.get(prefix + "\0").header.revision + 1
    handles = [
        watcher.add_watch_callback(key, rec.callback(i), prefix=p, rev=rev)
        for i, (key, p) in enumerate(watches)
    ]
    log: list[tuple[str, int]] = []
    for i in range(N_PUTS):
        if i in breaks:
            breaks[i](log)
        key = keys[(i * 7) % N_KEYS]
        log.append((key, writer.put(key, str(i)).header.revision))
    expected = expected_events(watches, log)
    rec.wait_for(expected)
    assert rec.errors == [None] * len(watches)
    for i, want in enumerate(expected):
        assert rec.events[i] == want, f"watch {i} on {watches[i]}"
    for handle in handles:
        handle.close()


@pytest.fixture
def bridge(backend: Backend) -> Iterator[Bridge]:
    with Bridge(backend.endpoints[0]) as b:
        yield b


@pytest.mark.parametrize("window", [1, 32], ids=["one-create", "pipelined-creates"])
def test_resume_after_bridge_cuts(
    client: Client, bridge: Bridge, prefix: str, window: int, new_client: Callable[..., Any]
) -> None:
    with new_client(endpoints=[bridge.endpoint], watch_create_window=window) as watcher:
        breaks: dict[int, Break] = {n: lambda _log: bridge.cut() for n in (300, 900, 1500)}
        run_resume(client, watcher, prefix, breaks)
    assert bridge.accepted >= 4  # the client came back after each cut


def test_resume_after_outages(
    client: Client, bridge: Bridge, prefix: str, new_client: Callable[..., Any]
) -> None:
    def outage(log: Log) -> None:
        with bridge.outage():
            for i in range(20):  # writes the watches miss while they are away
                key = prefix + f"g{i % 10}/k{i}"
                log.append((key, client.put(key, "during").header.revision))

    with new_client(endpoints=[bridge.endpoint]) as watcher:
        run_resume(client, watcher, prefix, {n: outage for n in (500, 1200)})


@pytest.mark.testserver_only
def test_resume_after_dropped_streams_and_restart(
    client: Client, backend: Backend, prefix: str, new_client: Callable[..., Any]
) -> None:
    srv = backend.server
    assert srv is not None
    breaks: dict[int, Break] = {
        300: lambda _log: srv.drop_streams(),
        800: lambda _log: srv.drop_streams(),
        1300: lambda _log: srv.restart(),
        1700: lambda _log: srv.drop_streams(),
    }
    with new_client(endpoints=backend.endpoints) as watcher:
        run_resume(client, watcher, prefix, breaks)


def test_resume_after_etcd_killed(etcd_tools: EtcdTools, new_client: Callable[..., Any]) -> None:
    """A private etcd is SIGKILLed and restarted (same data dir and ports) twice."""
    cport, pport = free_ports(2)
    member = EtcdProcess(etcd_tools.etcd, client_port=cport, peer_port=pport)

    def kill_and_restart(_log: Log) -> None:
        member.kill()
        member.start()
        member.wait_serving()
        writer.get("/warm-up")  # the writer reconnects before the next put

    try:
        member.start()
        member.wait_serving()
        writer = new_client(endpoints=[member.endpoint])
        with writer, new_client(endpoints=[member.endpoint]) as watcher:
            breaks: dict[int, Break] = {600: kill_and_restart, 1400: kill_and_restart}
            run_resume(writer, watcher, "/kill/", breaks)
    finally:
        member.remove()


def test_compaction_during_outage(
    client: Client, bridge: Bridge, prefix: str, new_client: Callable[..., Any]
) -> None:
    """Watches behind the compaction end with CompactedError; the others resume."""
    n = 10
    rec = Recorder(2 * n)
    rev = client.get(prefix + "\0").header.revision + 1
    with new_client(endpoints=[bridge.endpoint]) as watcher:
        behind = [
            watcher.add_watch_callback(prefix + f"a{i}", rec.callback(i), rev=rev) for i in range(n)
        ]
        current = [
            watcher.add_watch_callback(prefix + "b/", rec.callback(n + i), prefix=True, rev=rev)
            for i in range(n)
        ]
        log = [
            (prefix + f"a{i}", client.put(prefix + f"a{i}", "v").header.revision) for i in range(n)
        ]
        log += [
            (prefix + f"b/{i}", client.put(prefix + f"b/{i}", "v").header.revision)
            for i in range(n)
        ]
        watched = [(prefix + f"a{i}", False) for i in range(n)] + [(prefix + "b/", True)] * n
        rec.wait_for(expected_events(watched, log))
        with bridge.outage():
            client.compact(log[-1][1])  # the b/ watches are at the head; the a ones behind
        for i in range(n):
            log.append((prefix + f"b/{i}", client.put(prefix + f"b/{i}", "w").header.revision))
        expected = expected_events(watched, log)
        rec.wait_for(expected)
        for i in range(n):
            assert isinstance(rec.errors[i], CompactedError), rec.errors[i]
            assert rec.events[i] == expected[i]  # its one event, not repeated
            assert behind[i].wait(WAIT)
        for i in range(n, 2 * n):
            assert rec.errors[i] is None
            assert rec.events[i] == expected[i]
        for handle in current:
            handle.close()
