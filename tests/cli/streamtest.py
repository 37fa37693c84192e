"""Differential runs of commands that stream or wait: etcdctl and ``python -m etcd3py`` live.

:mod:`tests.cli.difftest` runs a command to its end; ``watch``, ``lock`` and ``elect`` run
until a signal. A :class:`Lab` over a :class:`~tests.cli.difftest.Pair` starts such a
command on both sides at once (:class:`Twin`: etcdctl on server A, ours on server B), makes
the same writes on both servers, waits (bounded) until both outputs reach a point, ends both
with a signal, and compares what each did, normalised as the harness normalises its steps.
Commands that end by themselves run concurrently (:meth:`Lab.run`), to keep the tests quick::

    with Lab(pair) as lab:
        rev = lab.revision() + 1
        watch = lab.start("watch", f"--rev={rev}", "k")
        lab.put("k", "v")
        watch.wait(lines(3))
        watch.stop()

Leaving the ``with`` block stops what still runs, revokes every lease (so the keys a killed
lock left go at the same revision on both servers), and asserts that both sides printed the
same things and that both key spaces are equal.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO

from google.protobuf import text_format
from google.protobuf.message import Message

import etcd3py
from etcd3py import _pb
from tests.cli.difftest import (
    DEFAULT_TIMEOUT,
    Etcdctl,
    Ours,
    Pair,
    Report,
    Result,
    Side,
    Step,
    StepOutcome,
    decode,
    step,
    tool_env,
)

__all__ = ["WAIT", "Lab", "Twin", "lines", "stderr_lines"]

#: The longest a test waits for an output (seconds); reaching it fails the test.
WAIT = 15.0
_REPO = Path(__file__).resolve().parents[2]

#: Whether both outputs reached a point: called with (stdout, stderr) of one side.
Point = Callable[[bytes, bytes], bool]


def lines(count: int) -> Point:
    """The point where stdout has at least ``count`` lines."""
    return lambda out, err: out.count(b"\n") >= count


def stderr_lines(count: int) -> Point:
    """The point where stderr has at least ``count`` lines."""
    return lambda out, err: err.count(b"\n") >= count


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` has open."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    return inodes


def connected(pid: int, port: int) -> bool:
    """Whether process ``pid`` has an established TCP connection to ``port`` (Linux)."""
    inodes = _socket_inodes(pid)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if fields[3] == "01" and remote_port == port and fields[9] in inodes:
                    return True
    return False


class Running:
    """One command running in the background; its output is collected as it comes."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        """Start ``command`` in a session of its own, its output read by two threads."""
        self.command = list(command)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        self._cond = threading.Condition()
        self._out = bytearray()
        self._err = bytearray()
        self._open = 2
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for stream, buf in ((self.proc.stdout, self._out), (self.proc.stderr, self._err)):
            threading.Thread(target=self._pump, args=(stream, buf), daemon=True).start()

    def _pump(self, stream: IO[bytes], buf: bytearray) -> None:
        """Append what ``stream`` gives to ``buf`` until its end."""
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self._open -= 1
                    self._cond.notify_all()
                    return
                buf += chunk
                self._cond.notify_all()

    def output(self) -> tuple[bytes, bytes]:
        """Stdout and stderr so far."""
        with self._cond:
            return bytes(self._out), bytes(self._err)

    def wait(self, point: Point, timeout: float = WAIT) -> bool:
        """Wait until the output reaches ``point`` (or the output ends); whether it did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not point(bytes(self._out), bytes(self._err)):
                left = deadline - time.monotonic()
                if left <= 0 or self._open == 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def write(self, data: bytes) -> None:
        """Write to its stdin."""
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def close_stdin(self) -> None:
        """End its stdin."""
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.close()

    def stop(self, sig: int | None = signal.SIGINT, timeout: float = 10.0) -> Result:
        """Send ``sig`` unless it has ended (None: wait for its end), collect what it did."""
        if sig is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
        timed_out = False
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.kill()
        with self._cond:
            deadline = time.monotonic() + 5
            while self._open and time.monotonic() < deadline:
                self._cond.wait(0.1)
        out, err = self.output()
        elapsed = time.monotonic() - self.started
        self._close_pipes()
        return Result(self.proc.returncode, out, err, timed_out=timed_out, elapsed=elapsed)

    def _close_pipes(self) -> None:
        """Close the pipes to and from the command."""
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def kill(self) -> None:
        """Kill its process group (the command and any child of it)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        with self._cond:
            deadline = time.monotonic() + 5
            while self._open and time.monotonic() < deadline:
                self._cond.wait(0.1)
        self._close_pipes()


class Twin:
    """One command running on both sides of a pair (etcdctl on A, ours on B)."""

    def __init__(self, lab: Lab, the_step: Step, transform: str = "") -> None:
        """Start the step's command on both sides."""
        self.lab = lab
        self.step = the_step
        self.transform = transform
        self.argvs = (lab.argv(0, the_step), lab.argv(1, the_step))
        self.sides = (
            Running(lab.command(0, self.argvs[0]), lab.env(0, the_step), lab.sides[0].workdir),
            Running(lab.command(1, self.argvs[1]), lab.env(1, the_step), lab.sides[1].workdir),
        )
        self.results: tuple[Result, Result] | None = None
        lab.twins.append(self)

    def wait(self, point: Point, timeout: float = WAIT) -> None:
        """Wait until both outputs reach ``point``; fail the test (with both) if one does not."""
        for running in self.sides:
            if not running.wait(point, timeout):
                out, err = running.output()
                raise AssertionError(
                    f"{self.step.describe()}: {running.command[0]} did not get there in "
                    f"{timeout}s (rc={running.proc.poll()}): stdout={out!r} stderr={err!r}"
                )

    def wait_connected(self, margin: float = 0.6) -> None:
        """Wait until both are connected to their server, and ``margin`` seconds more."""
        self.lab.wait_connected(self, margin=margin)

    def write(self, data: bytes) -> None:
        """Write to both stdins."""
        for running in self.sides:
            running.write(data)

    def close_stdin(self) -> None:
        """End both stdins."""
        for running in self.sides:
            running.close_stdin()

    def stop(self, sig: int | None = signal.SIGINT, timeout: float = 10.0) -> None:
        """End both (``sig``; None waits for their own end) and record what they did."""
        ref = self.sides[0].stop(sig, timeout)
        cand = self.sides[1].stop(sig, timeout)
        self.results = (ref, cand)
        self.lab.record(self.step, self.argvs, self.results, self.transform)

    def kill(self) -> None:
        """Kill both (cleanup)."""
        for running in self.sides:
            running.kill()


def _decode_json_keys(text: str) -> str:
    """Show the base64 ``key`` fields of JSON output decoded (lock keys hold a lease id)."""

    def sub(match: re.Match[str]) -> str:
        """One key, decoded."""
        raw = base64.b64decode(match.group(2))
        return f'{match.group(1)}b64"{raw.decode("utf-8", "backslashreplace")}"'

    return re.sub(r'("key":)"([A-Za-z0-9+/=]*)"', sub, text)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A protobuf varint at ``pos``: its value and the position after it."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _messages(data: bytes) -> list[bytes]:
    """Split etcdctl's protobuf output (messages written back to back) into messages: each
    starts with its header, field 1, which Go writes first and once."""
    starts: list[int] = []
    pos = 0
    while pos < len(data):
        key, after = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if field == 1 or not starts:
            starts.append(pos)
        if wire == 0:
            _, after = _varint(data, after)
        elif wire == 2:
            size, after = _varint(data, after)
            after += size
        elif wire in (1, 5):
            after += 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire} at {pos}")
        pos = after
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def _protobuf_text(kind: type[Message]) -> Callable[[bytes], bytes]:
    """Protobuf output as text (each message, then ``---``), for normalisation."""

    def convert(data: bytes) -> bytes:
        """The messages as text."""
        try:
            parts = [text_format.MessageToString(kind.FromString(m)) for m in _messages(data)]
        except Exception as exc:  # shown in the diff
            return f"unparsable protobuf: {exc}: {data!r}".encode()
        return "".join(part + "---\n" for part in parts).encode()

    return convert


_TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "": lambda data: data,
    "json-keys": lambda data: _decode_json_keys(decode(data)).encode("utf-8", "surrogateescape"),
    "protobuf-range": _protobuf_text(_pb.rpc.RangeResponse),
    "protobuf-watch": _protobuf_text(_pb.rpc.WatchResponse),
}
_LEASE_TEXT = (
    re.compile(r'"lease":(\d+)'),
    re.compile(r'^"(?:Prev)?Lease" : (\d+)$', re.M),
    re.compile(r"^\s*lease: (\d+)$", re.M),
)


def register_leases(side: Side, text: str, names: Sequence[str]) -> None:
    """Register the lease ids in ``text`` in order: ``<name>/<hex>`` keys and lease fields."""
    found: list[tuple[int, int]] = []
    for name in names:
        pattern = re.compile(re.escape(name) + r"/([0-9a-f]{9,16})(?![0-9a-f])")
        found += [(m.start(), int(m.group(1), 16)) for m in pattern.finditer(text)]
    for pattern in _LEASE_TEXT:
        found += [(m.start(), int(m.group(1))) for m in pattern.finditer(text)]
    for _pos, lease in sorted(found):
        side.register_lease(lease)


class Lab:
    """A test's run on a pair: writes on both servers, live commands, and the comparison.

    Args:
        pair: the pair (restarted first if its servers diverged).
        names: lock and election names whose keys hold a lease id (normalised).
    """

    def __init__(self, pair: Pair, names: Sequence[str] = ()) -> None:
        """Take the pair (restarting it if diverged) and open a client to each server."""
        if not pair.aligned():
            pair.reset()
        self.pair = pair
        self.sides = pair.sides
        self.names = list(names)
        self.ref = Etcdctl()
        self.cand = Ours()
        self.twins: list[Twin] = []
        self.outcomes: list[StepOutcome] = []
        self.clients = [etcd3py.Client([side.info.endpoint]) for side in self.sides]

    # ---- writes on both servers --------------------------------------------------------

    def each(self, action: Callable[[etcd3py.Client], object]) -> list[object]:
        """Do ``action`` with the client of server A, then of server B."""
        return [action(c) for c in self.clients]

    def put(self, key: str | bytes, value: str | bytes, **options: object) -> None:
        """Put on both servers."""
        self.each(lambda c: c.put(key, value, **options))  # type: ignore[arg-type]

    def delete(self, key: str | bytes, **options: object) -> None:
        """Delete on both servers."""
        self.each(lambda c: c.delete(key, **options))  # type: ignore[arg-type]

    def revision(self) -> int:
        """The revision of both servers (they must agree)."""
        revs = [c.get("\0", from_key=True, count_only=True).header.revision for c in self.clients]
        assert revs[0] == revs[1], f"the servers' revisions differ: {revs}"
        return revs[0]

    def keys(self, prefix: str) -> list[int]:
        """How many keys are under ``prefix`` on each server."""
        return [c.get(prefix, prefix=True, count_only=True).count for c in self.clients]

    def wait_keys(self, prefix: str, count: int, timeout: float = WAIT) -> None:
        """Wait until both servers hold ``count`` keys under ``prefix``."""
        deadline = time.monotonic() + timeout
        while (found := self.keys(prefix)) != [count, count]:
            assert time.monotonic() < deadline, f"keys under {prefix!r}: {found}, not {count}"
            time.sleep(0.05)

    def leases_of(self, prefix: str) -> list[list[int]]:
        """The leases of the keys under ``prefix`` on each server, in create order."""
        out = []
        for c in self.clients:
            kvs = c.get(prefix, prefix=True).kvs
            out.append([kv.lease for kv in sorted(kvs, key=lambda kv: kv.create_revision)])
        return out

    def wait_connected(self, *twins: Twin, margin: float = 0.6) -> None:
        """Wait until every side of ``twins`` is connected to its server, then ``margin``
        seconds more (for a watch from "now" to be registered before the writes)."""
        deadline = time.monotonic() + WAIT
        for twin in twins:
            for running, side in zip(twin.sides, self.sides, strict=True):
                port = int(side.info.endpoint.rsplit(":", 1)[1])
                while not connected(running.proc.pid, port):
                    assert time.monotonic() < deadline, f"{twin.step.describe()}: not connected"
                    time.sleep(0.05)
        time.sleep(margin)

    def revoke_all(self) -> None:
        """Revoke every lease on both servers (in id order: keys go in the same order)."""
        for c in self.clients:
            for lease in sorted(c.leases().leases):
                with contextlib.suppress(etcd3py.errors.EtcdError):
                    c.revoke(lease)

    # ---- running the tools -------------------------------------------------------------

    def argv(self, index: int, the_step: Step) -> list[str]:
        """The arguments for one side (with its ``--endpoints``)."""
        endpoint = self.sides[index].info.endpoint
        return (
            [f"--endpoints={endpoint}", *the_step.argv]
            if the_step.global_flags
            else [*the_step.argv]
        )

    def command(self, index: int, argv: list[str]) -> list[str]:
        """The command line of one side's tool."""
        if index == 0:
            return [str(self.ref.path), *argv]
        return [self.cand.python, "-m", "etcd3py", *argv]

    def env(self, index: int, the_step: Step) -> dict[str, str]:
        """The environment of one side's tool."""
        env = tool_env(the_step.env)
        if index == 1:
            path = os.environ.get("PYTHONPATH", "")
            env["PYTHONPATH"] = str(_REPO) + (os.pathsep + path if path else "")
        return env

    def start(self, *argv: str, env: Mapping[str, str] | None = None, transform: str = "") -> Twin:
        """Start a command on both sides (see :func:`~tests.cli.difftest.step` for argv)."""
        return Twin(self, step(*argv, env=env), transform)

    def run(self, *steps: Step | tuple[Step, str]) -> list[tuple[Result, Result]]:
        """Run commands that end by themselves, all at once; record and return what they did.

        A step may come with the name of a transform of its stdout (``("protobuf-watch")``).
        """
        jobs = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            for item in steps:
                the_step, transform = item if isinstance(item, tuple) else (item, "")
                argvs = (self.argv(0, the_step), self.argv(1, the_step))
                futures = [pool.submit(self._run_one, i, the_step, argvs[i]) for i in (0, 1)]
                jobs.append((the_step, transform, argvs, futures))
            done = []
            for the_step, transform, argvs, (ref, cand) in jobs:
                results = (ref.result(), cand.result())
                self.record(the_step, argvs, results, transform)
                done.append(results)
        return done

    def _run_one(self, index: int, the_step: Step, argv: list[str]) -> Result:
        """Run the step's command on one side to its end."""
        stdin = the_step.stdin.encode() if isinstance(the_step.stdin, str) else the_step.stdin
        tool = self.ref if index == 0 else self.cand
        timeout = the_step.timeout if the_step.timeout != DEFAULT_TIMEOUT else WAIT
        return tool.run(
            argv, stdin=stdin, env=the_step.env, timeout=timeout, cwd=self.sides[index].workdir
        )

    def record(
        self,
        the_step: Step,
        argvs: tuple[list[str], list[str]],
        results: tuple[Result, Result],
        transform: str = "",
    ) -> None:
        """Keep what a command did on both sides, for the comparison at the end."""
        convert = _TRANSFORMS[transform]
        shown = tuple(
            Result(r.rc, convert(r.stdout), r.stderr, r.timed_out, r.elapsed) for r in results
        )
        for side, result in zip(self.sides, shown, strict=True):
            register_leases(side, decode(result.stdout) + decode(result.stderr), self.names)
        index = len(self.outcomes) + 1
        self.outcomes.append(StepOutcome(index, the_step, argvs, (shown[0], shown[1])))

    # ---- the end -----------------------------------------------------------------------

    def __enter__(self) -> Lab:
        """The lab itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Kill what runs, revoke every lease, compare (unless the test failed), close."""
        for twin in self.twins:
            twin.kill()
        try:
            if exc is None:
                self.revoke_all()
                self.check()
        finally:
            with contextlib.suppress(Exception):
                self.revoke_all()
            for c in self.clients:
                c.close()

    def check(self) -> Report:
        """Compare everything recorded, and both key spaces; AssertionError with the diffs."""
        report = Report(self.pair.kind, (self.ref.name, self.cand.name), self.outcomes)
        report.state = self.pair.states()
        self.pair.finish(report)
        report.assert_identical()
        return report
