"""Leader loss under load on a real 3-member etcd 3.5 cluster (issue 6).

One client on all three endpoints holds 100 watches (96 callbacks, 4 iterators on their own
threads; a third of them with ``require_leader``), a kept-alive lease with a key on it, a
writer thread and a reader thread. Three times: SIGKILL the leader, wait for a new one,
restart the old member. Then, against etcd's own history (read by a fresh client's watch
from the first revision): every watch saw every event of its keys exactly once and in
order; every acknowledged put is there once and no failed put was applied twice; the lease
never expired; the reader never saw an error. The counts and failover times are printed
(``-s``) and written to ``leader_kill.json`` under the test's tmp path.

It runs on both faces: the client under test is the sync one or the asyncio one (its
callbacks run on its loop, its iterators are iterated from threads through the test view);
etcd's history is always read by a fresh sync client, the oracle.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from etcd3py import Client, Context, WatchResponse
from etcd3py.errors import EtcdError
from tests.backends import EtcdProcess
from tests.cluster.conftest import find_leader, wait_new_leader

pytestmark = [pytest.mark.cluster, pytest.mark.both_faces]

N_WATCHES = 100
KEYS_PER_WATCH = 3
ROUNDS = 3
LEASE_TTL = 10
WAIT = 30.0  # the longest any wait of this test may take, in seconds
PUT_TIMEOUT = 2.0
GET_TIMEOUT = 10.0
MAX_PUTS = 50_000  # bounds the writer's loop


Event = tuple[str, int, str]  # (key, mod_revision, value)


class Recorder:
    """Each watch's events, and the error that ended it, if any."""

    def __init__(self) -> None:
        self.events: list[list[Event]] = [[] for _ in range(N_WATCHES)]
        self.errors: list[BaseException | None] = [None] * N_WATCHES
        self._cond = threading.Condition()

    def record(self, i: int, resp: WatchResponse) -> None:
        with self._cond:
            for ev in resp.events:
                self.events[i].append(
                    (ev.kv.key.decode(), ev.kv.mod_revision, ev.kv.value.decode())
                )
            if resp.err() is not None:
                self.errors[i] = resp.err()
            self._cond.notify_all()

    def wait_caught_up(self, last: list[int], timeout: float) -> None:
        """Wait until watch i saw revision ``last[i]`` (or ended), for every i."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                behind = [
                    i
                    for i in range(N_WATCHES)
                    if last[i]
                    and self.errors[i] is None
                    and (not self.events[i] or self.events[i][-1][1] < last[i])
                ]
                remaining = deadline - time.monotonic()
                if not behind or remaining <= 0:
                    return
                self._cond.wait(min(remaining, 0.5))


@dataclass
class Load:
    """The writer's and reader's logs.

    ``acked`` holds (key, value, revision, sent at, acknowledged at), times from
    ``time.monotonic()``.
    """

    acked: list[tuple[str, str, int, float, float]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    read_errors: list[str] = field(default_factory=list)
    reads: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def key_of(prefix: str, n: int) -> str:
    return f"{prefix}w{n % N_WATCHES:03d}/k{(n // N_WATCHES) % KEYS_PER_WATCH}"


def writer(client: Client, prefix: str, load: Load) -> None:
    for n in range(MAX_PUTS):
        if load.stop.is_set():
            return
        key, value = key_of(prefix, n), f"v{n}"
        sent = time.monotonic()
        try:
            rev = client.put(key, value, timeout=PUT_TIMEOUT).header.revision
        except EtcdError as exc:
            load.failed.append((key, value, f"{type(exc).__name__}: {exc.details}"))
            continue
        load.acked.append((key, value, rev, sent, time.monotonic()))
        load.stop.wait(0.002)  # pacing: leave CPU to the members and the watches


def reader(client: Client, prefix: str, load: Load) -> None:
    for n in range(MAX_PUTS):
        if load.stop.wait(0.01):  # pacing
            return
        try:
            client.get(key_of(prefix, n * 7), timeout=GET_TIMEOUT)
            load.reads += 1
        except EtcdError as exc:
            load.read_errors.append(f"{type(exc).__name__}: {exc.details}")


def iterate(chan: object, i: int, rec: Recorder) -> None:
    try:
        for resp in chan:  # type: ignore[attr-defined]
            rec.record(i, resp)
    except EtcdError:
        pass  # the next iteration raises the err() of the last response, recorded already


def history(endpoints: list[str], prefix: str, start: int, last: int) -> list[Event]:
    """Every event under ``prefix`` from ``start`` to ``last``, read by a fresh client."""
    events: list[Event] = []
    with Client(endpoints) as fresh, fresh.watch(prefix, prefix=True, rev=start) as chan:
        deadline = time.monotonic() + WAIT
        for resp in chan:
            assert resp.err() is None, resp.err()
            events += [
                (e.kv.key.decode(), e.kv.mod_revision, e.kv.value.decode()) for e in resp.events
            ]
            if (events and events[-1][1] >= last) or time.monotonic() > deadline:
                break
    return events


def run_round(client: Client, members: list[EtcdProcess], load: Load) -> dict[str, object]:
    """Kill the leader, time the failover, restart the old member."""
    old = find_leader(client, members, WAIT)
    old_id = client.status(old.endpoint, timeout=2.0).header.member_id
    acked_before = len(load.acked)
    killed_at = time.monotonic()
    old.kill()
    new = wait_new_leader(client, members, old_id, WAIT)
    elected = time.monotonic() - killed_at
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not any(
        sent > killed_at for *_, sent, _ in load.acked[acked_before:]
    ):
        time.sleep(0.02)  # polling the writer's log for a put sent after the kill
    acked = load.acked[acked_before:]
    first_put = next((t for *_, t in acked if t > killed_at), None)
    first_new = next((t for *_, sent, t in acked if sent > killed_at), None)
    old.start()
    old.wait_serving()
    wait_acks(load, 300)  # some puts with every member back before the next round
    return {
        "killed": old.name,
        "new_leader": new.name,
        "kill_to_new_leader_s": round(elected, 3),
        "kill_to_first_put_s": None if first_put is None else round(first_put - killed_at, 3),
        "kill_to_first_put_sent_after_kill_s": (
            None if first_new is None else round(first_new - killed_at, 3)
        ),
        "kill_to_member_back_s": round(time.monotonic() - killed_at, 3),
    }


def wait_acks(load: Load, count: int) -> None:
    """Wait (bounded) until the writer acknowledged ``count`` more puts."""
    target = len(load.acked) + count
    deadline = time.monotonic() + WAIT
    while len(load.acked) < target and time.monotonic() < deadline:
        time.sleep(0.02)  # polling the writer's log


def start_watches(
    client: Client, prefix: str, rev: int, rec: Recorder
) -> tuple[list[object], list[threading.Thread]]:
    leader_ctx = Context.background().with_require_leader()
    handles: list[object] = []
    threads: list[threading.Thread] = []
    for i in range(N_WATCHES):
        ctx = leader_ctx if i % 3 == 0 else None
        key = f"{prefix}w{i:03d}/"
        if i % 25 == 0:
            chan = client.watch(key, prefix=True, rev=rev, ctx=ctx)
            thread = threading.Thread(target=iterate, args=(chan, i, rec), daemon=True)
            thread.start()
            handles.append(chan)
            threads.append(thread)
        else:
            callback = lambda resp, i=i: rec.record(i, resp)  # noqa: E731
            handles.append(client.add_watch_callback(key, callback, prefix=True, rev=rev, ctx=ctx))
    return handles, threads


def test_leader_kill_three_times(
    cluster: list[EtcdProcess],
    prefix: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    new_client: Callable[..., Any],
) -> None:
    caplog.set_level(logging.INFO, logger="etcd3py")
    endpoints = [m.endpoint for m in cluster]
    load, rec = Load(), Recorder()
    with new_client(endpoints, dial_timeout=5.0) as client:
        start = client.get(prefix).header.revision + 1
        handles, iter_threads = start_watches(client, prefix, start, rec)
        lease = client.grant(LEASE_TTL)
        client.put(prefix + "leased", "x", lease=lease.id)
        ka = client.keep_alive(lease.id)
        workers = [
            threading.Thread(target=writer, args=(client, prefix, load), daemon=True),
            threading.Thread(target=reader, args=(client, prefix, load), daemon=True),
        ]
        for t in workers:
            t.start()
        rounds = [run_round(client, cluster, load) for _ in range(ROUNDS)]
        load.stop.set()
        for t in workers:
            t.join(WAIT)
        final = client.get(prefix, prefix=True)
        last_rev = max(kv.mod_revision for kv in final.kvs)
        hist = history(endpoints, prefix, start, last_rev)
        hist = [e for e in hist if not e[0].endswith("leased")]
        last = [
            max((r for k, r, _ in hist if k.startswith(f"{prefix}w{i:03d}/")), default=0)
            for i in range(N_WATCHES)
        ]
        rec.wait_caught_up(last, WAIT)
        ttl = client.time_to_live(lease.id).ttl
        leased = client.get(prefix + "leased").count
        ka_done, ka_err = ka.done, ka.err()
        for handle in handles:
            handle.close()  # type: ignore[attr-defined]
        ka.close()
        for t in iter_threads:
            t.join(WAIT)

    report = summarize(rec, load, hist, rounds)
    report.update(
        lease_ttl_left=ttl,
        lease_key_present=bool(leased),
        watch_stream_reconnects=sum("reconnecting" in m and "watch" in m for m in caplog.messages),
        keepalive_stream_reconnects=sum("keep-alive stream" in m for m in caplog.messages),
    )
    out = tmp_path / "leader_kill.json"
    out.write_text(json.dumps(report, indent=2))
    for name, value in report.items():
        print(f"leader-kill {name}: {value}")
    print(f"leader-kill report: {out}")

    assert [e for e in rec.errors if e is not None] == []
    for i in range(N_WATCHES):
        want = [e for e in hist if e[0].startswith(f"{prefix}w{i:03d}/")]
        assert rec.events[i] == want, f"watch {i}: {len(rec.events[i])} events, want {len(want)}"
    assert report["acked_missing"] == 0 and report["acked_wrong"] == 0
    assert report["applied_twice"] == 0
    assert load.read_errors == []
    assert ttl > 0 and leased == 1 and not ka_done and ka_err is None
    assert all(r["kill_to_first_put_s"] is not None for r in rounds)


def summarize(
    rec: Recorder, load: Load, hist: list[Event], rounds: list[dict[str, object]]
) -> dict[str, object]:
    by_rev = {r: (k, v) for k, r, v in hist}
    value_count: dict[str, int] = {}
    for _, _, v in hist:
        value_count[v] = value_count.get(v, 0) + 1
    delivered = sum(len(ev) for ev in rec.events)
    unique = sum(len(set(ev)) for ev in rec.events)
    wanted = {e for e in hist}
    seen = {e for ev in rec.events for e in ev}
    return {
        "rounds": rounds,
        "watches": N_WATCHES,
        "history_events": len(hist),
        "events_delivered": delivered,
        "events_lost": len(wanted - seen),
        "events_duplicated": delivered - unique,
        "events_unexpected": len(seen - wanted),
        "watch_errors": sum(e is not None for e in rec.errors),
        "puts_acked": len(load.acked),
        "acked_missing": sum(1 for _, v, *_ in load.acked if v not in value_count),
        "acked_wrong": sum(1 for k, v, r, *_ in load.acked if by_rev.get(r) != (k, v)),
        "puts_failed": len(load.failed),
        "failed_but_applied": sum(1 for _, v, _ in load.failed if value_count.get(v)),
        "failed_errors": sorted({err for _, _, err in load.failed}),
        "applied_twice": sum(1 for c in value_count.values() if c > 1),
        "reads": load.reads,
        "read_errors": load.read_errors[:5],
    }
