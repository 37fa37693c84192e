"""``python -m etcd3py watch`` survives broken connections: every event once, in order.

The command line dials the server through a :class:`~testserver.bridge.Bridge`; a writer puts
keys directly while the bridge cuts every connection, twice, and once refuses new ones for a
while. The watch's output must hold every put exactly once, in revision order, as clientv3's
watch (which etcdctl uses) resumes from the next revision after each break.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from etcd3py import Client
from tests.backends import Backend
from testserver.bridge import Bridge

pytestmark = pytest.mark.faults

N_PUTS = 300
WAIT = 60.0


class _Output:
    """Reads the watch's stdout line by line in a thread; says when given lines arrived."""

    def __init__(self, proc: subprocess.Popen[bytes], first: str, last: str) -> None:
        self.lines: list[str] = []
        self.started = threading.Event()
        self.arrived = threading.Event()
        self._first, self._last = first, last
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode().rstrip("\n")
            self.lines.append(line)
            if line == self._first:
                self.started.set()
            if line == self._last:
                self.arrived.set()

    def join(self) -> None:
        """Wait for the end of the output (the process has ended)."""
        self._thread.join(timeout=WAIT)

    def put_keys(self) -> list[str]:
        """The keys of the simple writer's PUT events (``PUT``, key line, value line)."""
        return [self.lines[i + 1] for i, line in enumerate(self.lines[:-1]) if line == "PUT"]


def test_a_watch_resumes_after_cuts_with_nothing_lost_or_twice(
    backend: Backend, prefix: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL")}
    first, last = prefix + "k/0-first", prefix + "k/zz-last"
    keys = [f"{prefix}k/{i:04d}" for i in range(N_PUTS)]
    with Bridge(backend.endpoints[0]) as bridge, Client(backend.endpoints) as writer:
        rev = writer.put(prefix + "start", "x").header.revision + 1
        watch = ["watch", "--prefix", prefix + "k/", f"--rev={rev}"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "etcd3py", f"--endpoints={bridge.endpoint}", *watch],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        output = _Output(proc, first, last)
        try:
            writer.put(first, "")  # the watch is up once it prints this: the cuts reach it
            assert output.started.wait(WAIT), "the watch printed no event"
            cuts = []
            for i, key in enumerate(keys):
                writer.put(key, str(i))
                if i in (N_PUTS // 4, N_PUTS // 2):
                    cuts.append(bridge.cut())
                if i == 3 * N_PUTS // 4:
                    with bridge.outage():
                        time.sleep(0.5)
            writer.put(last, "end")
            assert output.arrived.wait(WAIT), f"the watch printed {len(output.lines)} lines"
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=WAIT)
            output.join()
    assert proc.returncode == -signal.SIGINT, err  # killed by the signal, as etcdctl
    assert all(cut >= 1 for cut in cuts), cuts  # each cut broke the watch's connection
    assert output.put_keys() == [first, *keys, last]  # every put once, in order
