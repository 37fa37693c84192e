"""Commands as spf13/cobra v1.1.3 finds, parses and runs them for etcdctl.

A :class:`Command` has a ``use`` line, help texts, flags (its own, and persistent ones its
subcommands inherit) and a ``run`` function. :func:`execute` finds the command the arguments
name (unique prefixes match, as etcdctl enables), parses its flags, prints help or usage
where cobra does, and runs it with an :class:`Invocation`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence

from etcd3py.cli._console import ERROR, Console, Exit
from etcd3py.cli._flags import Flag, FlagError, FlagSet
from etcd3py.cli._gofmt import quote
from etcd3py.cli._usage import usage

__all__ = ["Command", "Invocation", "Run", "execute"]

#: What a command does; it ends early by raising :class:`~etcd3py.cli._console.Exit`.
Run = Callable[["Invocation"], None]


class Command:
    """One command of the tree: ``use`` line, help texts, flags, subcommands and action."""

    def __init__(
        self,
        use: str,
        short: str,
        long: str = "",
        *,
        run: Run | None = None,
        flags: Sequence[Flag] = (),
        persistent: Sequence[Flag] = (),
        children: Sequence[Command] = (),
    ) -> None:
        """Define a command.

        Args:
            use: the usage line; its first word is the command's name.
            short: the one-line description.
            long: the description shown under DESCRIPTION, or "".
            run: the action; a command without one only groups subcommands.
            flags: the command's own flags.
            persistent: flags of this command that its subcommands inherit.
            children: subcommands.
        """
        self.use = use
        self.name = use.split(" ", 1)[0]
        self.short = short
        self.long = long
        self.run = run
        self.own_flags = list(flags)
        self.persistent = list(persistent)
        self.help_flag = Flag("help", "bool", False, f"help for {self.name}", shorthand="h")
        self.parent: Command | None = None
        self.children: list[Command] = []
        self.add(*children)

    def add(self, *commands: Command) -> None:
        """Add subcommands."""
        for command in commands:
            command.parent = self
            self.children.append(command)

    def root(self) -> Command:
        """The top command."""
        return self if self.parent is None else self.parent.root()

    def path(self) -> str:
        """The command's full name (``etcdctl lease grant``)."""
        return self.name if self.parent is None else f"{self.parent.path()} {self.name}"

    def runnable(self) -> bool:
        """Whether the command does something (a group only shows its help)."""
        return self.run is not None

    def sorted_children(self) -> list[Command]:
        """The subcommands in name order."""
        return sorted(self.children, key=lambda c: c.name)

    def descendants(self) -> Iterator[Command]:
        """Every command below this one, depth first, in name order."""
        for child in self.sorted_children():
            yield child
            yield from child.descendants()

    def local_flags(self) -> list[Flag]:
        """The flags the command defines itself (with ``--help``)."""
        return [*self.own_flags, *self.persistent, self.help_flag]

    def inherited_flags(self) -> list[Flag]:
        """The persistent flags of the commands above this one."""
        flags: list[Flag] = []
        parent = self.parent
        while parent is not None:
            flags.extend(parent.persistent)
            parent = parent.parent
        return flags

    def flag_set(self) -> FlagSet:
        """Every flag the command accepts."""
        return FlagSet([*self.local_flags(), *self.inherited_flags()])

    def use_line(self) -> str:
        """The USAGE line (``etcdctl get [options] <key> [range_end] [flags]``)."""
        line = self.use if self.parent is None else f"{self.parent.path()} {self.use}"
        return line if "[flags]" in line else f"{line} [flags]"

    def find_next(self, name: str) -> Command | None:
        """The subcommand ``name`` selects: its name, else the only one it prefixes."""
        matches = []
        for command in self.children:
            if command.name == name:
                return command
            if command.name.startswith(name):
                matches.append(command)
        return matches[0] if len(matches) == 1 else None

    def suggestions(self, typed: str) -> str:
        """cobra's ``Did you mean this?`` lines for an unknown subcommand, or ""."""
        names = [
            c.name
            for c in self.children
            if c.name != "help"
            and (c.runnable() or c.children)
            and (_distance(typed.lower(), c.name.lower()) <= 2 or c.name.startswith(typed))
        ]
        if not names:
            return ""
        return "\n\nDid you mean this?\n" + "".join(f"\t{name}\n" for name in names)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[len(b)]


# the builtins, for annotations inside Invocation (whose methods bool/str/int shadow them)
_Str = str
_Bool = bool
_Int = int


class Invocation:
    """One run of a command: the command, its parsed flags and arguments, the console."""

    def __init__(self, command: Command, flags: FlagSet, console: Console) -> None:
        """Hold what the command runs with."""
        self.command = command
        self.flags = flags
        self.args = list(flags.args)
        self.console = console
        self.cache: dict[str, object] = {}

    def value(self, name: _Str) -> object:
        """The value of flag ``name``."""
        return self.flags[name].value

    def bool(self, name: _Str) -> _Bool:
        """The value of bool flag ``name``."""
        return builtins.bool(self.flags[name].value)

    def str(self, name: _Str) -> _Str:
        """The value of string flag ``name``."""
        return builtins.str(self.flags[name].value)

    def int(self, name: _Str) -> _Int:
        """The value of an int (or duration, in nanoseconds) flag ``name``."""
        value = self.flags[name].value
        assert isinstance(value, builtins.int)
        return value

    def changed(self, name: _Str) -> _Bool:
        """Whether flag ``name`` was set (on the command line, or from the environment)."""
        return self.flags[name].changed


def _strip_flags(args: Sequence[str], flags: FlagSet) -> list[str]:
    """The words of ``args`` that may name subcommands (cobra's stripFlags)."""
    words: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        long_with_value = (
            arg.startswith("--") and "=" not in arg and not flags.bool_without_value(long=arg[2:])
        )
        short_with_value = (
            arg.startswith("-")
            and "=" not in arg
            and len(arg) == 2
            and not flags.bool_without_value(short=arg[1:])
        )
        takes_value = long_with_value or short_with_value
        if arg == "--":
            break
        if takes_value:
            if len(rest) <= 1:
                break
            rest.pop(0)
        elif arg and not arg.startswith("-"):
            words.append(arg)
    return words


def _without_first(args: list[str], word: str) -> list[str]:
    if word in args:
        i = args.index(word)
        return [*args[:i], *args[i + 1 :]]
    return args


def find(root: Command, args: Sequence[str]) -> tuple[Command, list[str]]:
    """The command ``args`` name, and the arguments left for it (cobra's Find).

    Raises:
        Exit: an unknown command below the top one (printed as cobra does).
    """
    command, rest = root, list(args)
    while True:
        words = _strip_flags(rest, command.flag_set())
        if not words:
            break
        sub = command.find_next(words[0])
        if sub is None:
            break
        command, rest = sub, _without_first(rest, words[0])
    if command.parent is None and command.children:
        words = _strip_flags(rest, command.flag_set())
        if words:
            message = (
                f"unknown command {quote(words[0])} for {quote(command.path())}"
                f"{command.suggestions(words[0])}"
            )
            raise _Unknown(message, command)
    return command, rest


class _Unknown(Exception):
    def __init__(self, message: str, command: Command) -> None:
        super().__init__(message)
        self.command = command


def execute(root: Command, console: Console) -> None:
    """Find and run the command ``console.argv`` names, as etcdctl's ``rootCmd.Execute``.

    Raises:
        Exit: how the run ends when it ends otherwise than by returning.
    """
    try:
        command, rest = find(root, console.argv)
    except _Unknown as exc:
        console.err(f"Error: {exc}\n")
        console.err(f"Run '{exc.command.path()} --help' for usage.\n")
        raise Exit(ERROR, str(exc)) from None
    flags = command.flag_set()
    try:
        flags.parse(rest)
    except FlagError as exc:
        console.err(f"Error: {exc}\n")
        console.out(usage(command))
        console.err("\n")
        raise Exit(ERROR, str(exc)) from None
    if command.help_flag.value or command.run is None:
        console.out(usage(command))
        return
    command.run(Invocation(command, flags, console))


def help_command() -> Command:
    """cobra's ``help [command]``."""

    def run(inv: Invocation) -> None:
        root = inv.command.root()
        try:
            target, _ = find(root, inv.args)
        except _Unknown:
            shown = "[" + " ".join(f"`{arg}`" for arg in inv.args) + "]"
            inv.console.err(f"Unknown help topic {shown}\n")
            inv.console.out(usage(root, help_flag=False))
            return
        inv.console.out(usage(target))

    return Command(
        "help [command]",
        "Help about any command",
        "Help provides help for any command in the application.\n"
        "Simply type etcdctl help [path to command] for full details.",
        run=run,
    )
