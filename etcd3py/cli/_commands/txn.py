"""``etcdctl txn``: a transaction read from stdin, in three sections, each ended by an empty line.

The first section holds compares (``mod("key") > "5"``), the next two the ops run on success
and on failure (``put k v``, ``get --prefix k``, ``del k``). Everything is read as etcdctl
3.5.1 reads it, bugs included:

* lines come through a 4096-byte ``bufio.Reader``; a missing terminator is ``Error: EOF``;
* a compare is scanned with Go's ``fmt.Sscanf("%q) %s %q")`` rules (the space after ``)``
  is required, a bad operator or a ``lease`` compare is a Go panic);
* an op line is split by :func:`~etcd3py.cli._goscan.argify` (its single-quote slicing
  uses the number of tokens, not the token's length) and parsed by a small cobra command
  tree of its own, with the ``get``/``put``/``del`` definitions and argument rules of
  :mod:`etcd3py.cli._commands.kv`, cobra's default usage and help texts, and etcdctl's wait
  forever when a help text was printed instead of an op.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._commands import kv
from etcd3py.cli._config import client
from etcd3py.cli._console import BAD_ARGS, INVALID_INPUT, Console, GoPanic, fail
from etcd3py.cli._display import Out
from etcd3py.cli._failures import failed
from etcd3py.cli._flags import Flag, FlagError, FlagSet
from etcd3py.cli._gofmt import GoNumError, parse_int, quote
from etcd3py.cli._goscan import (
    ScanError,
    Scanner,
    argify,
    bytes_of,
    go_trim_space,
    text_of,
)
from etcd3py.cli._kv_display import show_txn
from etcd3py.compare import Cmp, CompareResult, CompareTarget
from etcd3py.errors import EtcdError
from etcd3py.op import Op

__all__ = ["commands", "parse_compare", "parse_op"]

# ---- stdin, as etcdctl's bufio.Reader reads it --------------------------------------------


class _LineReader:
    """``bufio.NewReader(os.Stdin).ReadString('\\n')``: lines through a 4096-byte buffer.

    Each fill is one read of at most the buffer's free space (``read1``: one system call
    on a real stdin), so what is left unread behind the buffer is what etcdctl leaves: a
    ``put`` op line without a value reads that remainder as its value.
    """

    SIZE = 4096

    def __init__(self, console: Console) -> None:
        """Read from the console's stdin."""
        stream = console.stdin
        reader: Callable[[int], bytes] | None = getattr(stream, "read1", None)
        self._read = reader if reader is not None else stream.read
        self._buffered = b""

    def line(self) -> str:
        """The next line, with its ``\\n``.

        Raises:
            Exit: stdin ended before a newline (``Error: EOF``) or could not be read, exit 3.
        """
        parts: list[bytes] = []
        while True:
            end = self._buffered.find(b"\n")
            if end >= 0:
                parts.append(self._buffered[: end + 1])
                self._buffered = self._buffered[end + 1 :]
                return text_of(b"".join(parts))
            if len(self._buffered) >= self.SIZE:  # ErrBufferFull: keep the piece, read on
                parts.append(self._buffered)
                self._buffered = b""
            try:
                chunk = self._read(self.SIZE - len(self._buffered))
            except OSError as exc:  # Go's *PathError of os.Stdin
                reason = (exc.strerror or str(exc)).lower()
                raise fail(INVALID_INPUT, f"read /dev/stdin: {reason}") from None
            if not chunk:
                raise fail(INVALID_INPUT, "EOF")
            self._buffered += chunk


# ---- compares -----------------------------------------------------------------------------

_RESULTS = {
    "=": CompareResult.EQUAL,
    "!=": CompareResult.NOT_EQUAL,
    ">": CompareResult.GREATER,
    "<": CompareResult.LESS,
}
_INT_TARGETS = {
    "ver": CompareTarget.VERSION,
    "version": CompareTarget.VERSION,
    "c": CompareTarget.CREATE,
    "create": CompareTarget.CREATE,
    "m": CompareTarget.MOD,
    "mod": CompareTarget.MOD,
}


def _scan_compare(text: str) -> tuple[int, bytes, str, bytes]:
    """``fmt.Sscanf(text, "%q) %s %q")``: how many operands were scanned, and their values."""
    scanner, key, op, value, count = Scanner(text), b"", "", b"", 0
    try:
        key = scanner.quoted()
        count = 1
        scanner.literal(")")
        scanner.space()
        op = scanner.word()
        count = 2
        scanner.space()
        value = scanner.quoted()
        count = 3
    except ScanError:
        pass
    return count, key, op, value


def _result(op: str) -> CompareResult:
    """clientv3's ``Compare`` operator, which panics on any other."""
    result = _RESULTS.get(op)
    if result is None:
        raise GoPanic("Unknown result op")
    return result


def parse_compare(line: str) -> Cmp:
    """The compare of one (trimmed) line of txn's first section, as etcdctl's parseCompare.

    Raises:
        Exit: a malformed line or a non-numeric revision/version (exit 3).
        GoPanic: an unknown operator, or any ``lease`` compare (etcdctl panics).
    """
    target, paren, rest = line.partition("(")
    if not paren:
        raise fail(INVALID_INPUT, f"malformed comparison: {line}")
    count, key, op, value = _scan_compare(rest)
    if count != 3:
        raise fail(
            INVALID_INPUT,
            f"malformed comparison: {line}; got {target}({quote(key)}) {op} {quote(value)}",
        )
    if target in _INT_TARGETS:
        try:
            number = parse_int(text_of(value), 10)
        except GoNumError:
            raise fail(INVALID_INPUT, f"invalid txn compare request: {line}") from None
        return Cmp(_INT_TARGETS[target], _result(op), key, number)
    if target in ("val", "value"):
        return Cmp(CompareTarget.VALUE, _result(op), key, value)
    if target == "lease":
        _result(op)
        raise GoPanic("bad value")  # etcdctl passes the value as a string, clientv3 wants int64
    raise fail(INVALID_INPUT, f"malformed comparison: {line} (unknown target {target})")


# ---- op lines -----------------------------------------------------------------------------


def _hang() -> NoReturn:
    """etcdctl waits forever for the op a help text never sends; only a signal ends it."""
    while True:
        time.sleep(3600)


#: pflag's zero default of each kind (a flag whose default is its zero shows no default).
_ZERO = {"bool": "false", "string": "", "int": "0", "int64": "0", "duration": "0s"}
_ZERO["stringSlice"] = "[]"


def _flag_usages(flags: Sequence[Flag]) -> str:
    """pflag's ``FlagUsages``: one aligned line per flag, by name, with its type and default."""
    types = {"string": "string", "int": "int", "int64": "int", "duration": "duration"}
    types["stringSlice"] = "strings"
    lines = []
    for flag in sorted(flags, key=lambda f: f.name):
        head = f"  -{flag.shorthand}, --{flag.name}" if flag.shorthand else f"      --{flag.name}"
        if flag.kind in types:
            head += " " + types[flag.kind]
        usage = flag.usage
        default = flag.text(flag.default)
        if default != _ZERO[flag.kind] and not (flag.kind == "duration" and default == "0"):
            usage += f" (default {quote(default) if flag.kind == 'string' else default})"
        lines.append((head, usage))
    width = max(len(head) for head, _ in lines) + 1
    return "".join(f"{head} {' ' * (width - len(head))} {usage}\n" for head, usage in lines)


class _OpLine:
    """The cobra command tree etcdctl builds for one op line: ``put``, ``get``, ``del``, ``help``.

    Its root has no name, no flags until it runs and prints nothing on errors
    (``SilenceErrors``); cobra's default templates write the usage and help texts.
    """

    def __init__(self, console: Console) -> None:
        """Fresh commands (their flags hold this line's values)."""
        self.console = console
        self.ops: list[Op] = []
        self.commands = [
            kv.put_command(lambda inv: self.ops.append(kv.put_op(inv))),
            kv.get_command(lambda inv: self.ops.append(kv.get_op(inv))),
            kv.del_command(lambda inv: self.ops.append(kv.del_op(inv))),
            Command(
                "help [command]",
                "Help about any command",
                "Help provides help for any command in the application.\n"
                "Simply type  help [path to command] for full details.",
                run=self._help_command,
            ),
        ]
        self.root_help = Flag("help", "bool", False, "help for this command", shorthand="h")

    @staticmethod
    def _words(args: Sequence[str]) -> list[str]:
        """The words that may name commands (cobra's stripFlags on the root, which has no
        flags yet: every ``--flag`` or ``-f`` without ``=`` takes the next word)."""
        words, rest = [], list(args)
        while rest:
            arg = rest.pop(0)
            if arg == "--":
                break
            if arg.startswith("-") and "=" not in arg and (arg.startswith("--") or len(arg) == 2):
                if len(rest) <= 1:
                    break
                rest.pop(0)
            elif arg and not arg.startswith("-"):
                words.append(arg)
        return words

    def _find(self, args: Sequence[str]) -> tuple[Command | None, list[str]] | None:
        """The command the words name (None: the root) and its arguments; None if unknown."""
        words = self._words(args)
        if not words:
            return None, list(args)
        name = words[0]
        exact = [c for c in self.commands if c.name == name]
        matches = exact or [c for c in self.commands if c.name.startswith(name)]
        if len(matches) != 1:
            return None  # cobra: unknown command "<name>" for ""
        rest = list(args)
        rest.remove(name)
        return matches[0], rest

    def _usage(self, command: Command | None, *, root_flags: bool = True) -> str:
        """cobra's default usage template for a command (None: the root)."""
        if command is not None:
            use = f" {command.use}" + ("" if "[flags]" in command.use else " [flags]")
            flags = _flag_usages(command.local_flags()).rstrip()
            return f"Usage:\n  {use}\n\nFlags:\n{flags}\n"
        listed = "".join(
            f"\n  {c.name:<11} {c.short}" for c in sorted(self.commands, key=lambda c: c.name)
        )
        text = f"Usage:\n   [command]\n\nAvailable Commands:{listed}"
        if root_flags:
            text += "\n\nFlags:\n" + _flag_usages([self.root_help]).rstrip()
        return text + '\n\nUse " [command] --help" for more information about a command.\n'

    def _help(self, command: Command | None) -> str:
        """cobra's default help template: the description, then the usage."""
        about = "" if command is None else (command.long or command.short).rstrip()
        return (about + "\n\n" if about else "") + self._usage(command)

    def _help_command(self, inv: Invocation) -> None:
        """cobra's ``help [command]``, then etcdctl's endless wait for an op."""
        found = self._find(inv.args)
        if found is None:
            shown = " ".join(_backquote(arg) for arg in inv.args)
            self.console.err(f"Unknown help topic [{shown}]\n")
            self.console.err(self._usage(None, root_flags=False))
        else:
            self.console.out(self._help(found[0]))
        _hang()

    def run(self, args: list[str], line: str) -> Op:
        """Execute the line's words as cobra would and return the op its command built.

        Raises:
            Exit: an unknown command or a flag error (exit 3, after the usage on stderr), or
                the command's own argument error.
        """
        found = self._find(args)
        if found is None:
            raise fail(INVALID_INPUT, f"invalid txn request: {line}")
        command, rest = found
        flags = command.flag_set() if command is not None else FlagSet([self.root_help])
        try:
            flags.parse(rest)
        except FlagError:
            self.console.err(self._usage(command) + "\n")
            raise fail(INVALID_INPUT, f"invalid txn request: {line}") from None
        if command is None or flags["help"].value:
            self.console.out(self._help(command))
            _hang()
        assert command.run is not None
        command.run(Invocation(command, flags, self.console))
        if not self.ops:  # cobra never ran a command that sends one
            _hang()
        return self.ops[0]


def _backquote(text: str) -> str:
    """Go's ``%#q`` of one string: back-quoted where ``strconv.CanBackquote``, else ``%q``."""
    raw = bytes_of(text)
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return quote(raw)
    if any((c < " " and c != "\t") or c in "`\x7f\ufeff" for c in decoded):
        return quote(raw)
    return f"`{decoded}`"


def parse_op(console: Console, line: str) -> Op:
    """The op of one (trimmed) line of txn's second or third section (parseRequestUnion).

    Raises:
        Exit: fewer than two words (``invalid txn compare request``, sic), an unknown
            command or flag error (``invalid txn request``), or an argument error of the
            command (its own message and code).
        GoPanic: :func:`argify`'s single-quote slice is out of range.
    """
    args = argify(line)
    if len(args) < 2:
        raise fail(INVALID_INPUT, f"invalid txn compare request: {line}")
    return _OpLine(console).run(args, line)


# ---- the command --------------------------------------------------------------------------


_T = TypeVar("_T")


def _section(reader: _LineReader, parse: Callable[[str], _T]) -> list[_T]:
    """Read lines up to the first empty one (after trimming), parsing each.

    Raises:
        Exit: stdin ended first (``Error: EOF``, exit 3), or a line's own error.
        GoPanic: a line etcdctl panics on.
    """
    items: list[_T] = []
    while True:
        line = go_trim_space(reader.line())
        if not line:
            return items
        items.append(parse(line))


def _txn(inv: Invocation) -> None:
    """``etcdctl txn``: read, commit (no timeout), print."""
    if inv.args:
        raise fail(BAD_ARGS, "txn command does not accept argument")
    console = inv.console
    reader = _LineReader(console)
    etcd = client(inv)
    interactive = inv.bool("interactive")

    def prompt(text: str) -> None:
        """The interactive mode's heading of a section."""
        if interactive:
            console.out(text + "\n")

    prompt("compares:")
    compares = _section(reader, parse_compare)
    prompt("success requests (get, put, del):")
    then = _section(reader, lambda line: parse_op(console, line))
    prompt("failure requests (get, put, del):")
    otherwise = _section(reader, lambda line: parse_op(console, line))
    try:
        resp = etcd.txn().if_(*compares).then(*then).else_(*otherwise).commit()
    except EtcdError as exc:
        raise failed(inv, exc) from None
    show_txn(Out(inv), resp.to_pb())


def commands() -> list[Command]:
    """``txn``."""
    return [
        Command(
            "txn [options]",
            "Txn processes all the requests in one transaction",
            run=_txn,
            flags=[
                Flag(
                    "interactive",
                    "bool",
                    False,
                    "Input transaction in interactive mode",
                    shorthand="i",
                )
            ],
        )
    ]
