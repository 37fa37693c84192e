"""``etcdctl endpoint health|status|hashkv``, and what etcdctl's maintenance commands share.

Each subcommand asks every endpoint (``--endpoints``, or with ``--cluster`` the client URLs
of the member list) and prints one result per endpoint in every writer, tables included.
``health`` checks the endpoints concurrently, each with a client of its own, and prints them
in the order the checks ended. The client's log lines etcdctl writes to stderr (the retry
warning of each failed call) are written here too, in both of zap's shapes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from google.protobuf.message import Message

from etcd3py import Client, Context, _pb
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._config import (
    WRITERS,
    Settings,
    apply_environment,
    client,
    credentials,
    endpoints_flag,
    inherited,
    seconds,
    settings,
    tls_config,
)
from etcd3py.cli._console import BAD_ARGS, BAD_FEATURE, ERROR, Exit, fail
from etcd3py.cli._display import Out, unsupported
from etcd3py.cli._failures import go_error
from etcd3py.cli._flags import Flag
from etcd3py.cli._gofmt import duration, humanize_bytes, quote
from etcd3py.cli._gojson import message
from etcd3py.cli._logs import retry_warning
from etcd3py.cli._table import render
from etcd3py.errors import EtcdError

__all__ = ["command_ctx", "commands", "endpoints_from_cluster"]


def command_ctx(inv: Invocation) -> Context:
    """etcdctl's commandCtx: a context ending ``--command-timeout`` from now."""
    return Context.background().with_timeout(seconds(inv.int("command-timeout")))


# ---- endpoints ----------------------------------------------------------------------------


def endpoints_from_cluster(inv: Invocation) -> list[str]:
    """The endpoints to ask: ``--endpoints`` as given, or with ``--cluster`` every client URL
    of the member list, read through a client of its own without credentials.

    Raises:
        Exit: the member list cannot be read (exit 1).
    """
    if not inv.bool("cluster"):
        value = inv.value("endpoints")
        assert isinstance(value, list)
        return [str(e) for e in value]
    conf = settings(inv)
    eps = [e.strip() for e in endpoints_flag(inv)]
    inv.cache["settings"] = dataclasses.replace(conf, endpoints=eps, username=None, password=None)
    try:
        lister = client(inv, eps)
    except Exit as exc:
        raise fail(ERROR, exc.message) from None
    finally:
        inv.cache["settings"] = conf
    try:
        resp = lister.member_list(ctx=command_ctx(inv))
    except EtcdError as exc:
        retry_warning(inv.console, eps[0], exc)
        reason = go_error(exc)
        raise fail(
            ERROR, f"failed to fetch endpoints from etcd cluster member list: {reason}"
        ) from None
    return [url for member in resp.members for url in member.client_urls]


# ---- endpoint health ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Health:
    """One endpoint's health, as etcdctl's epHealth."""

    endpoint: str
    health: bool
    took: str
    error: str


def _health_settings(inv: Invocation) -> Settings:
    """The global flags as ``endpoint health`` reads them (no ``--debug`` dump, ``-w`` first).

    Raises:
        Exit: a fatal environment conflict, an unknown output format (4), an empty TLS
            option (128).
    """
    apply_environment(inv.console, inherited(inv))
    write_out = inv.str("write-out")
    if write_out not in WRITERS:
        raise fail(BAD_FEATURE, "unsupported output format")
    for name in ("cert", "key", "cacert"):
        if inv.changed(name) and not inv.str(name):
            raise fail(BAD_ARGS, f"empty string is passed to --{name} option")
    username, password = credentials(inv)
    return Settings(
        endpoints=[],
        dial_timeout=seconds(inv.int("dial-timeout")),
        keepalive_time=seconds(inv.int("keepalive-time")),
        keepalive_timeout=seconds(inv.int("keepalive-timeout")),
        tls=None,
        username=username,
        password=password,
        write_out=write_out,
        hex=inv.bool("hex"),
    )


def _with_tls(inv: Invocation, conf: Settings, code: int) -> Settings:
    """``conf`` with the TLS files read (their errors exit with ``code``)."""
    try:
        tls = tls_config(inv.flags)
    except Exit as exc:
        raise Exit(code, exc.message) from None
    return dataclasses.replace(conf, tls=tls)


def _check(inv: Invocation, endpoint: str) -> _Health:
    """Check one endpoint: a get of ``health``, then the alarm list."""
    console = inv.console
    try:
        cli: Client = client(inv, [endpoint], named=True)
    except Exit as exc:
        return _Health(endpoint, False, "", exc.message or "")
    ctx = command_ctx(inv)
    started = time.monotonic_ns()
    failure: EtcdError | None = None
    try:
        cli.get("health", ctx=ctx)
    except EtcdError as exc:
        retry_warning(console, endpoint, exc, named=True)
        failure = exc
    took = duration(time.monotonic_ns() - started)
    # a refused permission still went through consensus: the member is healthy
    if failure is not None and go_error(failure) != "etcdserver: permission denied":
        return _Health(endpoint, False, took, go_error(failure))
    try:
        alarms = cli.alarm_list(ctx=ctx).to_pb().alarms
    except EtcdError as exc:
        retry_warning(console, endpoint, exc, named=True)
        return _Health(endpoint, False, took, "Unable to fetch the alarm list")
    if alarms:
        names = {1: "NOSPACE ", 2: "CORRUPT "}
        error = "Active Alarm(s): " + "".join(names.get(a.alarm, "UNKNOWN ") for a in alarms)
        return _Health(endpoint, False, took, error)
    return _Health(endpoint, True, took, "")


def _health(inv: Invocation) -> None:
    """``endpoint health``: check every endpoint at once; any unhealthy one fails the command."""
    conf = _health_settings(inv)
    inv.cache["settings"] = conf
    if inv.bool("cluster"):
        inv.cache["settings"] = conf = _with_tls(inv, conf, ERROR)
    eps = endpoints_from_cluster(inv)
    if eps and not inv.bool("cluster"):
        inv.cache["settings"] = conf = _with_tls(inv, conf, BAD_ARGS)
    results: list[_Health] = []
    if eps:
        with ThreadPoolExecutor(max_workers=len(eps)) as pool:
            checks = [pool.submit(_check, inv, ep) for ep in eps]
            results = [done.result() for done in as_completed(checks)]
    out = Out(inv, conf)
    if out.kind == "simple":
        for h in results:
            if h.error:
                out.console.err(
                    f"{h.endpoint} is unhealthy: failed to commit proposal: {h.error}\n"
                )
            else:
                out.raw(
                    f"{h.endpoint} is healthy: successfully committed proposal: took = {h.took}\n"
                )
    elif out.kind == "fields":
        for h in results:
            out.raw(f'"Endpoint" : {quote(h.endpoint)}\n')
            out.line('"Health" :', h.health)
            out.line('"Took" :', h.took)
            out.line('"Error" :', h.error)
            out.line()
    elif out.kind == "json":
        out.json([_health_tree(h) for h in results])
    elif out.kind == "table":
        rows = [[h.endpoint, "true" if h.health else "false", h.took, h.error] for h in results]
        out.raw(render(["endpoint", "health", "took", "error"], rows))
    else:
        raise unsupported(out.kind)
    if any(h.error for h in results):
        raise fail(ERROR, "unhealthy cluster")


def _health_tree(h: _Health) -> dict[str, object]:
    """The JSON of an epHealth (``error`` left out when empty)."""
    tree: dict[str, object] = {"endpoint": h.endpoint, "health": h.health, "took": h.took}
    if h.error:
        tree["error"] = h.error
    return tree


# ---- endpoint status / hashkv -------------------------------------------------------------

_M = TypeVar("_M", _pb.rpc.StatusResponse, _pb.rpc.HashKVResponse)


def _ask_each(
    inv: Invocation, what: str, call: Callable[[Client, str, Context], _M]
) -> tuple[list[tuple[str, _M]], str]:
    """Make ``call`` to every endpoint in order, reporting each failure on stderr.

    Returns:
        The (endpoint, answer) pairs that succeeded, and the text of the last failure ("" if
        none).
    """
    cli = client(inv)
    target = settings(inv).endpoints[0]
    answers: list[tuple[str, _M]] = []
    last = ""
    for ep in endpoints_from_cluster(inv):
        try:
            answers.append((ep, call(cli, ep, command_ctx(inv))))
        except EtcdError as exc:
            retry_warning(inv.console, target, exc, dialed=ep)
            last = go_error(exc)
            inv.console.err(f"Failed to get the {what} of endpoint {ep} ({last})\n")
    return answers, last


def _header(pb: _pb.rpc.StatusResponse | _pb.rpc.HashKVResponse) -> Message | None:
    """The message's header, or None where Go's pointer would be nil."""
    return pb.header if pb.HasField("header") else None


def _status(inv: Invocation) -> None:
    """``endpoint status``: each endpoint's status; a failed one is reported, exit 1 at the end."""
    answers, last = _ask_each(inv, "status", lambda cli, ep, ctx: cli.status(ep, ctx=ctx).to_pb())
    out = Out(inv)
    rows = [_status_row(ep, s) for ep, s in answers]
    if out.kind == "simple":
        for row in rows:
            out.line(", ".join(row))
    elif out.kind == "table":
        header = ["endpoint", "ID", "version", "db size", "is leader", "is learner"]
        header += ["raft term", "raft index", "raft applied index", "errors"]
        out.raw(render(header, rows))
    elif out.kind == "fields":
        for ep, s in answers:
            out.header(_header(s))
            out.raw(f'"Version" : {quote(s.version)}\n')
            out.line('"DBSize" :', s.dbSize)
            out.line('"Leader" :', s.leader)
            out.line('"IsLearner" :', s.isLearner)
            out.line('"RaftIndex" :', s.raftIndex)
            out.line('"RaftTerm" :', s.raftTerm)
            out.line('"RaftAppliedIndex" :', s.raftAppliedIndex)
            out.line('"Errors" :', list(s.errors))
            out.raw(f'"Endpoint" : {quote(ep)}\n')
            out.line()
    elif out.kind == "json":
        out.json([{"Endpoint": ep, "Status": message(s)} for ep, s in answers])
    else:
        raise unsupported(out.kind)
    if last:
        raise Exit(ERROR)


def _status_row(ep: str, s: _pb.rpc.StatusResponse) -> list[str]:
    """One endpoint's cells: endpoint, ID, version, db size, leader, learner, raft term,
    index and applied index, errors."""
    member = s.header.member_id
    return [
        ep,
        f"{member:x}",
        s.version,
        humanize_bytes(s.dbSize),
        "true" if s.leader == member else "false",
        "true" if s.isLearner else "false",
        str(s.raftTerm),
        str(s.raftIndex),
        str(s.raftAppliedIndex),
        ", ".join(s.errors),
    ]


def _hashkv(inv: Invocation) -> None:
    """``endpoint hashkv [--rev N]``: each endpoint's KV hash; the last failure ends it."""
    # etcd hashes up to its current revision for any rev <= 0 (etcd3py's client refuses < 0)
    rev = max(inv.int("rev"), 0)
    answers, last = _ask_each(
        inv, "hash", lambda cli, ep, ctx: cli.hash_kv(ep, rev, ctx=ctx).to_pb()
    )
    out = Out(inv)
    if out.kind == "simple":
        for ep, h in answers:
            out.line(f"{ep}, {h.hash}")
    elif out.kind == "table":
        out.raw(render(["endpoint", "hash"], [[ep, str(h.hash)] for ep, h in answers]))
    elif out.kind == "fields":
        for ep, h in answers:
            out.header(_header(h))
            out.raw(f'"Endpoint" : {quote(ep)}\n')
            out.line('"Hash" :', h.hash)
            out.line()
    elif out.kind == "json":
        out.json([{"Endpoint": ep, "HashKV": message(h)} for ep, h in answers])
    else:
        raise unsupported(out.kind)
    if last:
        raise fail(ERROR, last)


def commands() -> list[Command]:
    """``endpoint`` and its subcommands ``health``, ``status`` and ``hashkv``."""
    return [
        Command(
            "endpoint <subcommand>",
            "Endpoint related commands",
            persistent=[
                Flag("cluster", "bool", False, "use all endpoints from the cluster member list")
            ],
            children=[
                Command(
                    "health",
                    "Checks the healthiness of endpoints specified in `--endpoints` flag",
                    run=_health,
                ),
                Command(
                    "status",
                    "Prints out the status of endpoints specified in `--endpoints` flag",
                    "When --write-out is set to simple, this command prints out comma-separated "
                    "status lists for each endpoint.\nThe items in the lists are endpoint, ID, "
                    "version, db size, is leader, is learner, raft term, raft index, raft "
                    "applied index, errors.\n",
                    run=_status,
                ),
                Command(
                    "hashkv",
                    "Prints the KV history hash for each endpoint in --endpoints",
                    run=_hashkv,
                    persistent=[
                        Flag("rev", "int64", 0, "maximum revision to hash (default: all revisions)")
                    ],
                ),
            ],
        )
    ]
