"""``etcdctl watch``: print the events of a key, a range or a prefix as they happen.

A watch runs until it is killed (Ctrl-C and SIGTERM end the process at once, as etcdctl
installs no handler) or until the server cancels it (``watch was canceled (...)``, exit 5).
After ``--``, a command runs for every event with ``ETCD_WATCH_*`` in its environment.
``-i`` reads ``watch ...`` and ``progress`` lines from stdin, each ``watch`` line starting
one more watch. The arguments are resolved as etcdctl resolves them, from the raw command
line, with its quirks (``ETCDCTL_WATCH_KEY`` / ``ETCDCTL_WATCH_RANGE_END`` included).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
from collections.abc import Iterator, Sequence

import etcd3py
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._config import client
from etcd3py.cli._console import (
    BAD_ARGS,
    ERROR,
    INTERRUPTED,
    INVALID_INPUT,
    Console,
    Exit,
    GoPanic,
    fail,
)
from etcd3py.cli._display import Out
from etcd3py.cli._exec import run_command
from etcd3py.cli._failures import go_error
from etcd3py.cli._flags import Flag, FlagError, FlagSet
from etcd3py.cli._gofmt import quote, quote_list
from etcd3py.cli._goscan import argify
from etcd3py.cli._watch_display import WatchView, show_watch
from etcd3py.context import Context
from etcd3py.errors import EtcdError
from etcd3py.watch import WatchChan, WatchResponse

__all__ = ["commands"]

_BAD_NUMBER = "bad number of arguments"
_CONFLICT = "bad number of arguments (found conflicting environment key)"
_SEPARATOR = "bad number of arguments (found separator --, but no commands)"
_EXCLUSIVE = "`range_end` and `--prefix` are mutually exclusive"
_PROGRAM = "etcdctl"  # os.Args[0], which etcdctl's argument resolution also sees


class _ArgsError(Exception):
    """Arguments etcdctl's watch refuses; ``str()`` is its message."""


@dataclasses.dataclass(frozen=True)
class _Options:
    """The options of one watch."""

    prefix: bool = False
    rev: int = 0
    prev_kv: bool = False
    progress_notify: bool = False

    @classmethod
    def of(cls, flags: FlagSet) -> _Options:
        """The options a parsed flag set holds."""
        rev = flags["rev"].value
        assert isinstance(rev, int)
        return cls(
            prefix=bool(flags["prefix"].value),
            rev=rev,
            prev_kv=bool(flags["prev-kv"].value),
            progress_notify=bool(flags["progress-notify"].value),
        )


def _flags() -> list[Flag]:
    """The watch command's own flags (a fresh set: interactive lines parse their own)."""
    return [
        Flag("interactive", "bool", False, "Interactive mode", shorthand="i"),
        Flag("prefix", "bool", False, "Watch on a prefix if prefix is set"),
        Flag("rev", "int64", 0, "Revision to start watching"),
        Flag("prev-kv", "bool", False, "get the previous key-value pair before the event happens"),
        Flag(
            "progress-notify",
            "bool",
            False,
            "get periodic watch progress notification from server",
        ),
    ]


# ---- arguments ------------------------------------------------------------------------------


def _find(items: Sequence[str], item: str) -> int:
    """The first index of ``item`` in ``items``, or -1."""
    return items.index(item) if item in items else -1


def _env_args(env_key: str, env_range: str) -> list[str]:
    """What ``ETCDCTL_WATCH_KEY`` and ``ETCDCTL_WATCH_RANGE_END`` put before the arguments."""
    if not env_key:
        return []
    return [env_key, env_range] if env_range else [env_key]


def _split(
    positional: list[str], with_sep: list[str], dash: int, env_key: str, env_range: str
) -> tuple[list[str], list[str]]:
    """The watch arguments and the exec arguments (those after the first ``--``).

    The positional arguments hold the exec arguments too; etcdctl drops everything from the
    last argument equal to the first exec argument on (so ``watch foo -- echo echo`` watches
    ``foo`` to ``echo``).
    """
    watch_args = [*_env_args(env_key, env_range), *positional]
    if dash < 0:
        return watch_args, []
    exec_args = with_sep[dash + 1 :]
    for end in range(len(watch_args) - 1, -1, -1):
        if watch_args[end] == exec_args[0]:
            return watch_args[:end], exec_args
    raise GoPanic("runtime error: slice bounds out of range [:-1]")


def _check_env_conflict(positional: list[str], raw: list[str], dash: int) -> None:
    """Refuse a key given both before ``--`` and in ``ETCDCTL_WATCH_KEY``, as etcdctl does:
    the positional arguments are matched against the raw ones from the end."""
    ridx = len(raw) - 1
    for widx in range(len(positional) - 1, -1, -1):
        if ridx < 0:
            raise GoPanic(f"runtime error: index out of range [{ridx}]")
        if positional[widx] == raw[ridx]:
            ridx -= 1
        elif ridx == dash:
            raise _ArgsError(_CONFLICT)


def parse_command_line(
    argv: Sequence[str], positional: list[str], env_key: str, env_range: str
) -> tuple[list[str], list[str]]:
    """Resolve a non-interactive watch's arguments from the raw command line.

    Args:
        argv: the process's arguments after the program name.
        positional: the positional arguments the flag parser left.
        env_key: ``ETCDCTL_WATCH_KEY``.
        env_range: ``ETCDCTL_WATCH_RANGE_END``.

    Returns:
        The watch arguments (key, range end) and the exec arguments.

    Raises:
        _ArgsError: etcdctl's refusal.
    """
    raw = [_PROGRAM, *argv]
    at = _find(raw, "watch")
    if at >= 0:
        raw = raw[at + 1 :]
    dash = _find(raw, "--")
    if dash >= 0 and dash == len(raw) - 1:
        raise _ArgsError(_SEPARATOR)
    if dash < 0 and not raw and not env_key:
        raise _ArgsError(_BAD_NUMBER)
    if dash >= 0 and env_key:
        _check_env_conflict(positional, raw, dash)
    if dash < 0 and positional and env_key:
        raise _ArgsError(_CONFLICT)
    return _split(positional, raw, dash, env_key, env_range)


def _pflag_error(exc: FlagError) -> str:
    """pflag's error for a watch line (``-h``/``--help`` ask for help: there is none)."""
    text = str(exc)
    if text == "unknown flag: --help" or text.startswith("unknown shorthand flag: 'h' in -"):
        return "pflag: help requested"
    return text


def parse_line(
    tokens: list[str], env_key: str, env_range: str
) -> tuple[list[str], list[str], _Options]:
    """Resolve the arguments and options of an interactive ``watch ...`` line.

    Args:
        tokens: the line's words (the first is ``watch``).
        env_key: ``ETCDCTL_WATCH_KEY``.
        env_range: ``ETCDCTL_WATCH_RANGE_END``.

    Returns:
        The watch arguments, the exec arguments and the line's options.

    Raises:
        _ArgsError: etcdctl's refusal (it ends the command).
    """
    words = tokens[1:]
    dash = _find(words, "--")
    if dash >= 0 and dash == len(words) - 1:
        raise _ArgsError(_SEPARATOR)
    flags = FlagSet(_flags())
    try:
        flags.parse(words)
    except FlagError as exc:
        raise _ArgsError(_pflag_error(exc)) from None
    positional = flags.args
    if dash < 0 and not env_key and not positional:
        raise _ArgsError(_BAD_NUMBER)
    if dash < 0 and positional and env_key:
        raise _ArgsError(_CONFLICT)
    watch_args, exec_args = _split(positional, words, dash, env_key, env_range)
    return watch_args, exec_args, _Options.of(flags)


# ---- watching -----------------------------------------------------------------------------


def _bytes(arg: str) -> bytes:
    """The bytes of a command-line argument (a Go string)."""
    return arg.encode("utf-8", "surrogateescape")


def open_watch(
    c: etcd3py.Client, ctx: Context, args: list[str], opts: _Options
) -> tuple[WatchChan, bool]:
    """Start the watch the arguments name (etcdctl's getWatchChan).

    Returns:
        The watch, and whether its events are to be dropped: etcdctl watches the empty key
        itself, which no key can be; etcd3py refuses to watch it, so the key ``\\x00`` is
        watched instead and its events are dropped.

    Raises:
        _ArgsError: no key, or both a range end and ``--prefix``.
    """
    if not args:
        raise _ArgsError(_BAD_NUMBER)
    key = _bytes(args[0])
    end = b""
    if len(args) == 2:
        if opts.prefix:
            raise _ArgsError(_EXCLUSIVE)
        end = _bytes(args[1])
    silent = False
    range_end: bytes | None = None
    if end and not opts.prefix:
        key, range_end = key or b"\x00", end  # no key sorts between "" and "\x00"
    elif not key and not opts.prefix:
        key, silent = b"\x00", True
    try:
        chan = c.watch(
            key,
            prefix=opts.prefix,
            range_end=range_end,
            rev=max(opts.rev, 0),  # etcd takes a negative start revision as "now"
            prev_kv=opts.prev_kv,
            progress_notify=opts.progress_notify,
            ctx=ctx,
        )
    except EtcdError as exc:
        raise fail(ERROR, go_error(exc)) from None
    return chan, silent


def _hang() -> None:
    """Wait forever: clientv3 never learns of a watch refused without a reason."""
    threading.Event().wait()


def _as_go(response: WatchResponse, silent: bool) -> tuple[WatchView | None, str]:
    """The response clientv3 would hand etcdctl for ``response``, and its cancel text.

    Returns:
        The view (None: clientv3 hands nothing out), and the error text of a canceled one.
    """
    pb = response.to_pb()
    err = response.err()
    if err is None:
        if silent and pb.events:
            return None, ""
        return WatchView.of(pb), ""
    if pb.compact_revision:
        return WatchView.of(pb), go_error(err)
    if pb.created and pb.canceled:
        if not pb.cancel_reason:
            _hang()
        # clientv3 ends the stream with the reason as its error, printed as it came
        return WatchView.closing(), pb.cancel_reason
    if pb.canceled:
        return None, ""  # the server ended an established watch: clientv3 says nothing
    return WatchView.closing(), go_error(err)


def _run_for_events(console: Console, view: WatchView, exec_args: list[str]) -> None:
    """Run the exec command once per event, with the event in its environment.

    Raises:
        Exit: the command failed (after ``command [...] error (...)``, exit 1).
    """
    for event in view.events or ():
        env = dict(console.environ)
        env["ETCD_WATCH_REVISION"] = str(view.header.revision)
        env["ETCD_WATCH_EVENT_TYPE"] = quote("DELETE" if event.type else "PUT")
        env["ETCD_WATCH_KEY"] = quote(event.kv.key)
        env["ETCD_WATCH_VALUE"] = quote(event.kv.value)
        outcome = run_command(console, exec_args, env)
        if outcome.error is not None:
            console.err(f"command {quote_list(exec_args)} error ({outcome.error})\n")
            raise Exit(ERROR)


def print_watch(out: Out, chan: WatchChan, silent: bool, exec_args: list[str]) -> None:
    """Print every response of the watch until it ends (etcdctl's printWatchCh).

    Raises:
        Exit: the writer has no watch output, or an exec command failed.
    """
    console = out.console
    while True:
        try:
            response = chan.get()
        except EtcdError:
            return  # the end, already shown with the last response
        if response is None:
            return
        view, cancel_text = _as_go(response, silent)
        if view is not None:
            if view.canceled:
                console.err(f"watch was canceled ({cancel_text})\n")
            if view.is_progress_notify():
                console.out(f"progress notify: {view.header.revision}\n")
            show_watch(out, view)
            if exec_args:
                _run_for_events(console, view, exec_args)
        if response.err() is not None:
            return


def _run(inv: Invocation) -> None:
    """``watch``: resolve the arguments, watch, print until the server ends the watch."""
    console = inv.console
    env_key = console.environ.get("ETCDCTL_WATCH_KEY", "")
    env_range = console.environ.get("ETCDCTL_WATCH_RANGE_END", "")
    if not env_key and env_range:
        raise fail(
            BAD_ARGS,
            f"ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END={quote(env_range)}",
        )
    if inv.bool("interactive"):
        _Interactive(inv, env_key, env_range).run()
        return
    try:
        watch_args, exec_args = parse_command_line(console.argv, inv.args, env_key, env_range)
    except _ArgsError as exc:
        raise fail(BAD_ARGS, exc) from None
    c = client(inv)
    out = Out(inv)
    ctx = Context.background().with_require_leader()
    try:
        chan, silent = open_watch(c, ctx, watch_args, _Options.of(inv.flags))
    except _ArgsError as exc:
        raise fail(BAD_ARGS, exc) from None
    print_watch(out, chan, silent, exec_args)
    raise fail(INTERRUPTED, "watch is canceled by the server")


class _Interactive:
    """``watch -i``: watches started by stdin lines, each printed by a thread of its own.

    Lines are read by a reader thread; they and the exits of the printers (an exec command
    that failed, a writer without watch output) come to the main thread through one queue,
    so that either ends the command at once, as Go's ``os.Exit`` from any goroutine does.
    """

    def __init__(self, inv: Invocation, env_key: str, env_range: str) -> None:
        """Prepare the loop (the client is made by :meth:`run`)."""
        self.inv = inv
        self.console = inv.console
        self.env_key = env_key
        self.env_range = env_range
        self.events: queue.SimpleQueue[bytes | BaseException] = queue.SimpleQueue()

    def _chunks(self) -> Iterator[bytes]:
        """Stdin as it comes. A real file is read below its buffer: at exit, a thread
        blocked in the buffered reader would hold its lock, which Python's shutdown needs."""
        stdin = self.console.stdin
        try:
            fd = stdin.fileno()
        except (AttributeError, OSError, ValueError):
            while line := stdin.readline():
                yield line
            return
        while data := os.read(fd, 65536):
            yield data

    def _read(self) -> None:
        """Queue each line of stdin; then the read error that ends the command."""
        pending = b""
        try:
            for data in self._chunks():
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self.events.put(line + b"\n")
            self.events.put(fail(INVALID_INPUT, "error reading watch request line: EOF"))
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            message = f"error reading watch request line: read /dev/stdin: {reason}"
            self.events.put(fail(INVALID_INPUT, message))

    def _print(self, out: Out, chan: WatchChan, silent: bool, exec_args: list[str]) -> None:
        """One watch's printer; its exit goes to the main thread."""
        try:
            print_watch(out, chan, silent, exec_args)
        except BaseException as exc:  # handed to the main thread, which raises it
            self.events.put(exc)

    def run(self) -> None:
        """Serve lines until stdin ends or a printer exits.

        Raises:
            Exit: how the command ends.
        """
        c = client(self.inv)
        out = Out(self.inv)
        ctx = Context.background().with_require_leader()
        threading.Thread(target=self._read, name="watch-stdin", daemon=True).start()
        while True:
            item = self.events.get()
            if isinstance(item, BaseException):
                raise item
            self._line(item[:-1].decode("utf-8", "surrogateescape"), c, out, ctx)

    def _line(self, line: str, c: etcd3py.Client, out: Out, ctx: Context) -> None:
        """Do what one line asks."""
        console = self.console
        tokens = argify(line)
        if not tokens:
            console.err(f"Invalid command: {line} (watch and progress supported)\n")
        elif tokens[0] == "watch":
            if len(tokens) < 2 and not self.env_key:
                console.err(f"Invalid command {line} (command type or key is not provided)\n")
                return
            try:
                watch_args, exec_args, opts = parse_line(tokens, self.env_key, self.env_range)
            except _ArgsError as exc:
                raise fail(BAD_ARGS, exc) from None
            try:
                chan, silent = open_watch(c, ctx, watch_args, opts)
            except _ArgsError as exc:
                console.err(f"Invalid command {line} ({exc})\n")
                return
            threading.Thread(
                target=self._print, args=(out, chan, silent, exec_args), daemon=True
            ).start()
        elif tokens[0] == "progress":
            try:
                c.request_progress(ctx)
            except EtcdError as exc:
                raise fail(ERROR, go_error(exc)) from None
        else:
            console.err(f"Invalid command {line} (only support watch)\n")


def commands() -> list[Command]:
    """``watch``."""
    return [
        Command(
            "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
            "Watches events stream on keys or prefixes",
            run=_run,
            flags=_flags(),
        )
    ]
