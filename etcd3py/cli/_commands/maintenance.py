"""``etcdctl alarm``, ``defrag``, ``move-leader`` and ``snapshot save`` (and ``endpoint``).

:func:`commands` returns these and the ``endpoint`` group of
:mod:`etcd3py.cli._commands.endpoint`, whose client log lines and ``--cluster`` endpoint
discovery the commands here share. etcd3py has no offline defragmentation: ``defrag
--data-dir`` says so and fails, after etcdctl's deprecation notice.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from typing import NoReturn

from typing_extensions import Buffer

from etcd3py import Client, _pb
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._commands import endpoint
from etcd3py.cli._commands.endpoint import command_ctx, endpoints_from_cluster
from etcd3py.cli._config import client, settings
from etcd3py.cli._console import BAD_ARGS, ERROR, INTERRUPTED, Exit, fail
from etcd3py.cli._display import Out
from etcd3py.cli._failures import go_error
from etcd3py.cli._flags import Flag
from etcd3py.cli._gofmt import GoNumError, humanize_bytes, humanize_time_since, parse_uint
from etcd3py.cli._logs import retry_warning, rpc_text, zap_line
from etcd3py.context import Context
from etcd3py.errors import EtcdError, SnapshotChecksumError

__all__ = ["commands"]

_ALARMS = {0: "NONE", 1: "NOSPACE", 2: "CORRUPT"}

# ---- alarm --------------------------------------------------------------------------------


def _alarm_text(alarm: _pb.rpc.AlarmMember) -> str:
    """Go's ``%+v`` of an AlarmMember: its compact text format (zero fields left out)."""
    text = f"memberID:{alarm.memberID} " if alarm.memberID else ""
    if alarm.alarm:
        text += f"alarm:{_ALARMS.get(alarm.alarm, str(alarm.alarm))} "
    return text


def _print_alarms(inv: Invocation, resp: _pb.rpc.AlarmResponse) -> None:
    """etcdctl's display of an alarm answer, in every writer (a table is refused)."""
    out = Out(inv)
    if out.kind == "simple":
        for alarm in resp.alarms:
            out.line(_alarm_text(alarm))
    elif out.kind == "fields":
        out.header(resp.header if resp.HasField("header") else None)
        for alarm in resp.alarms:
            out.line('"MemberID" :', alarm.memberID)
            out.line('"AlarmType" :', _ALARMS.get(alarm.alarm, str(alarm.alarm)))
            out.line()
    else:
        out.whole(resp)


def _alarm(action: str) -> Command:
    """``alarm list`` or ``alarm disarm``."""

    def run(inv: Invocation) -> None:
        """List (or disarm every) alarm and print the answer."""
        if inv.args:
            raise fail(BAD_ARGS, f"alarm {action} command accepts no arguments")
        ctx = command_ctx(inv)
        cli = client(inv)
        try:
            if action == "list":
                resp = cli.alarm_list(ctx=ctx).to_pb()
            else:
                # clientv3 builds the answer of a disarm-all itself: the alarms, no header
                resp = _pb.rpc.AlarmResponse(alarms=cli.alarm_disarm(ctx=ctx).to_pb().alarms)
        except EtcdError as exc:
            first = settings(inv).endpoints[0]
            retry_warning(inv.console, first, exc, dialed=first)
            raise fail(ERROR, go_error(exc)) from None
        _print_alarms(inv, resp)

    short = "Lists all alarms" if action == "list" else "Disarms all alarms"
    return Command(action, short, run=run)


# ---- defrag -------------------------------------------------------------------------------


def _defrag(inv: Invocation) -> None:
    """``defrag [--cluster]``: defragment each endpoint's member in turn."""
    if inv.str("data-dir"):
        inv.console.err(
            "Use `etcdutl defrag` instead. The --data-dir is going to be decomissioned in v3.6.\n\n"
        )
        raise fail(
            ERROR,
            "etcd3py does not defragment a data directory offline (--data-dir): "
            f"run `etcdutl defrag --data-dir {inv.str('data-dir')}` instead",
        )
    cli = client(inv)
    target = settings(inv).endpoints[0]
    failures = 0
    for ep in endpoints_from_cluster(inv):
        try:
            cli.defragment(ep, ctx=command_ctx(inv))
        except EtcdError as exc:
            retry_warning(inv.console, target, exc, dialed=ep)
            inv.console.err(f"Failed to defragment etcd member[{ep}] ({go_error(exc)})\n")
            failures += 1
        else:
            inv.console.out(f"Finished defragmenting etcd member[{ep}]\n")
    if failures:
        raise Exit(ERROR)


# ---- move-leader --------------------------------------------------------------------------


def _move_leader(inv: Invocation) -> None:
    """``move-leader <id>``: find the leader among the endpoints, ask it to hand over."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "move-leader command needs 1 argument")
    try:
        target = parse_uint(inv.args[0], 16)
    except GoNumError as exc:
        raise fail(BAD_ARGS, exc) from None
    client(inv)
    eps = list(settings(inv).endpoints)
    ctx = command_ctx(inv)
    for ep in eps:
        # etcdctl reads the global flags (and the environment) again for each endpoint
        inv.cache.pop("settings", None)
        cli = client(inv, [ep])
        try:
            status = cli.status(ep, ctx=ctx)
        except EtcdError as exc:
            retry_warning(inv.console, ep, exc, dialed=ep)
            raise fail(ERROR, go_error(exc)) from None
        if status.header.member_id == status.leader:
            break
    else:
        raise fail(BAD_ARGS, f"no leader endpoint given at [{' '.join(eps)}]")
    try:
        resp = cli.move_leader(target, ctx=ctx).to_pb()
    except EtcdError as exc:
        retry_warning(inv.console, ep, exc, dialed=ep)
        raise fail(ERROR, go_error(exc)) from None
    out = Out(inv)
    if out.kind == "simple":
        out.line(f"Leadership transferred from {status.leader:x} to {target:x}")
    else:
        out.whole(resp)


# ---- snapshot save ------------------------------------------------------------------------


class _PartFile(io.FileIO):
    """``<file>.part``, created private; says when the snapshot's first bytes arrive."""

    def __init__(self, path: str, on_first_write: Callable[[], None]) -> None:
        """Create or truncate ``path`` with mode 0600 (etcd's private file mode)."""
        super().__init__(path, "w", opener=lambda p, flags: os.open(p, flags, 0o600))
        self._on_first_write: Callable[[], None] | None = on_first_write
        self.size = 0

    def write(self, data: Buffer, /) -> int:
        """Write all of ``data`` (a bytes-like chunk of the stream)."""
        first = self._on_first_write
        if first is not None:
            self._on_first_write = None
            first()
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += super().write(view[done:]) or 0
        self.size += done
        return done


def _log(inv: Invocation, caller: str, msg: str, **fields: object) -> None:
    """One info line of etcdctl's production logger (``logger`` given: its client's)."""
    logger = str(fields.pop("logger", ""))
    inv.console.err(zap_line("info", caller, msg, fields, logger=logger))


def _snapshot_save(inv: Invocation) -> None:
    """``snapshot save <file>``: a member's database, through ``<file>.part``; failures exit 5."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "snapshot save expects one argument")
    path = inv.args[0]
    eps = settings(inv).endpoints
    # without --command-timeout (or its variable) a snapshot has no time limit
    ctx = command_ctx(inv) if inv.changed("command-timeout") else Context.background()
    if len(eps) != 1:
        raise fail(
            INTERRUPTED,
            f"snapshot must be requested to one selected node, not multiple [{' '.join(eps)}]",
        )
    try:
        cli = client(inv, named=True)
    except Exit as exc:
        raise Exit(INTERRUPTED, exc.message) from None
    part = path + ".part"
    try:
        _save(inv, cli, ctx, path, part)
    finally:
        if os.path.isfile(part):
            os.unlink(part)
    inv.console.out(f"Snapshot saved at {path}\n")


def _save(inv: Invocation, cli: Client, ctx: Context, path: str, part: str) -> None:
    """Stream the snapshot into ``part``, check its size, then rename it to ``path``."""
    ep = settings(inv).endpoints[0]
    opened = False

    def stream_opened() -> None:
        """Log what clientv3 and etcdctl log once the snapshot stream is open."""
        nonlocal opened
        opened = True
        _log(inv, "v3/maintenance.go:211", "opened snapshot stream; downloading", logger="client")
        _log(inv, "snapshot/v3_snapshot.go:76", "fetching snapshot", endpoint=ep)

    try:
        f = _PartFile(part, stream_opened)
    except OSError as exc:
        raise fail(INTERRUPTED, f"could not open {part} (open {part}: {_os_text(exc)})") from None
    _log(inv, "snapshot/v3_snapshot.go:68", "created temporary db file", path=part)
    started = time.time()
    with f:
        try:
            cli.snapshot(f, ctx=ctx)
        except SnapshotChecksumError as exc:
            if not opened:
                stream_opened()
            _log(inv, "v3/maintenance.go:219", "completed snapshot read; closing", logger="client")
            # clientv3 checks the size only; etcd3py's client checks the digest too
            reason = go_error(exc) if f.size % 512 == 32 else ""
            raise fail(
                INTERRUPTED, reason or f"sha256 checksum not found [bytes: {f.size}]"
            ) from None
        except EtcdError as exc:
            _stream_failed(inv, ep, exc, opened, stream_opened)
        except OSError as exc:
            raise fail(INTERRUPTED, f"write {part}: {_os_text(exc)}") from None
        _log(inv, "v3/maintenance.go:219", "completed snapshot read; closing", logger="client")
        try:
            os.fsync(f.fileno())
        except OSError as exc:
            raise fail(INTERRUPTED, f"sync {part}: {_os_text(exc)}") from None
    size, took = humanize_bytes(f.size), humanize_time_since(time.time() - started)
    _log(inv, "snapshot/v3_snapshot.go:91", "fetched snapshot", endpoint=ep, size=size, took=took)
    try:
        os.rename(part, path)
    except OSError as exc:
        reason = f"rename {part} {path}: {_os_text(exc)}"
        raise fail(INTERRUPTED, f"could not rename {part} to {path} ({reason})") from None
    _log(inv, "snapshot/v3_snapshot.go:100", "saved", path=path)


def _os_text(exc: OSError) -> str:
    """An OS error as Go words it (``no such file or directory``)."""
    return (exc.strerror or str(exc)).lower()


def _stream_failed(
    inv: Invocation, ep: str, exc: EtcdError, opened: bool, stream_opened: Callable[[], None]
) -> NoReturn:
    """Log a failed snapshot stream as clientv3 does, then fail (exit 5).

    A member that cannot be reached fails the stream's creation; any other failure comes
    after clientv3 reported the stream open.
    """
    fields: dict[str, object] = {"error": rpc_text(exc, ep)}
    if not opened and exc.code.name in ("DEADLINE_EXCEEDED", "UNAVAILABLE"):
        msg = "streamer failed to create ClientStream"
        inv.console.err(
            zap_line("error", "v3/retry_interceptor.go:135", msg, fields, logger="client")
        )
    else:
        if not opened:
            stream_opened()
        msg = "failed to receive from snapshot stream; closing"
        inv.console.err(zap_line("warn", "v3/maintenance.go:221", msg, fields, logger="client"))
    raise fail(INTERRUPTED, go_error(exc)) from None


def commands() -> list[Command]:
    """``alarm``, ``defrag``, ``endpoint``, ``move-leader`` and ``snapshot``."""
    return [
        Command(
            "alarm <subcommand>",
            "Alarm related commands",
            children=[_alarm("disarm"), _alarm("list")],
        ),
        Command(
            "defrag",
            "Defragments the storage of the etcd members with given endpoints",
            run=_defrag,
            flags=[
                Flag(
                    "data-dir",
                    "string",
                    "",
                    "Optional. If present, defragments a data directory not in use by etcd.",
                )
            ],
            persistent=[
                Flag("cluster", "bool", False, "use all endpoints from the cluster member list")
            ],
        ),
        *endpoint.commands(),
        Command(
            "move-leader <transferee-member-id>",
            "Transfers leadership to another etcd cluster member.",
            run=_move_leader,
        ),
        Command(
            "snapshot <subcommand>",
            "Manages etcd node snapshots",
            children=[
                Command(
                    "save <filename>",
                    "Stores an etcd node backend snapshot to a given file",
                    run=_snapshot_save,
                )
            ],
        ),
    ]
