"""Command-line flags as spf13/pflag v1.0.5 parses them, for etcdctl's exact behaviour.

Flags may stand anywhere among the arguments (interspersed), ``--`` ends them, a bool flag
takes an optional ``=value``, shorthands group (``-iw json``), and every error carries
pflag's own wording, which etcdctl prints as is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Literal

from etcd3py.cli._gofmt import duration, parse_bool, parse_duration, parse_int, quote

__all__ = ["Flag", "FlagError", "FlagSet", "Kind"]

#: The value types etcdctl's flags use (pflag's names, as shown in usage lines).
Kind = Literal["bool", "string", "int", "int64", "duration", "stringSlice"]


class FlagError(Exception):
    """A command line pflag refuses; ``str()`` is pflag's message."""


class Flag:
    """One flag: its name, shorthand, kind, default, usage text, and the value parsed."""

    __slots__ = ("changed", "default", "kind", "name", "shorthand", "usage", "value")

    def __init__(
        self,
        name: str,
        kind: Kind,
        default: object,
        usage: str,
        *,
        shorthand: str = "",
    ) -> None:
        """Define a flag; its value starts as the default.

        Args:
            name: the long name, without dashes.
            kind: the value type.
            default: the default value (bool, str, int, nanoseconds or list of str).
            usage: the help text.
            shorthand: the one-letter short name, or "".
        """
        self.name = name
        self.kind = kind
        self.default = default
        self.usage = usage
        self.shorthand = shorthand
        self.value: object = list(default) if isinstance(default, list) else default
        self.changed = False

    @property
    def no_opt_default(self) -> str:
        """The value a bare ``--flag`` means: "true" for a bool flag, none for the others."""
        return "true" if self.kind == "bool" else ""

    def set(self, text: str) -> None:
        """Parse ``text`` into the value (pflag's ``Value.Set``) and mark the flag changed.

        Raises:
            FlagError: pflag's ``invalid argument ... for ... flag: ...`` message.
        """
        try:
            self.value = self._parse(text)
        except ValueError as exc:
            name = f"-{self.shorthand}, --{self.name}" if self.shorthand else f"--{self.name}"
            raise FlagError(
                f"invalid argument {quote(text)} for {quote(name)} flag: {exc}"
            ) from None
        self.changed = True

    def _parse(self, text: str) -> object:
        if self.kind == "bool":
            return parse_bool(text)
        if self.kind in ("int", "int64"):
            return parse_int(text, 0)
        if self.kind == "duration":
            return parse_duration(text)
        if self.kind == "stringSlice":
            items = _read_csv(text)
            # the first Set replaces the default; later ones append (repeated flags)
            return [*self.value, *items] if self.changed else items  # type: ignore[misc]
        return text

    def text(self, value: object | None = None) -> str:
        """The value as pflag's ``String()`` writes it (``5s``, ``[a,b]``, ``true``)."""
        value = self.value if value is None else value
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "duration":
            assert isinstance(value, int)
            return duration(value)
        if self.kind == "stringSlice":
            assert isinstance(value, list)
            return "[" + _write_csv(value) + "]"
        return str(value)

    def usage_line(self) -> str:
        """The flag's line in etcdctl's usage text (``  -w, --write-out="simple"\\t...``)."""
        head = f"  -{self.shorthand}, --{self.name}" if self.shorthand else f"      --{self.name}"
        default = self.text(self.default)
        shown = quote(default) if self.kind == "string" else default
        if self.no_opt_default:
            return f"{head}[={shown}]\t{self.usage}\n"
        return f"{head}={shown}\t{self.usage}\n"


def _read_csv(text: str) -> list[str]:
    if text == "":
        return []
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        raise ValueError(str(exc)) from None
    return rows[0] if rows else []


def _write_csv(items: Sequence[str]) -> str:
    if not items:
        return ""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(items)
    return out.getvalue()


class FlagSet:
    """The flags one command accepts, and the parse of its arguments."""

    def __init__(self, flags: Iterable[Flag] = ()) -> None:
        """Hold ``flags``; more may be added with :meth:`add`."""
        self._by_name: dict[str, Flag] = {}
        self._by_short: dict[str, Flag] = {}
        for flag in flags:
            self.add(flag)
        self.args: list[str] = []
        self.args_len_at_dash = -1

    def add(self, flag: Flag) -> None:
        """Add a flag (a later one of the same name is ignored, as pflag's AddFlagSet)."""
        if flag.name in self._by_name:
            return
        self._by_name[flag.name] = flag
        if flag.shorthand:
            self._by_short[flag.shorthand] = flag

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Flag:
        return self._by_name[name]

    def get(self, name: str, default: Flag) -> Flag:
        """The flag ``name``, or ``default`` when there is none."""
        return self._by_name.get(name, default)

    def sorted(self) -> list[Flag]:
        """The flags in name order (pflag's VisitAll)."""
        return [self._by_name[name] for name in sorted(self._by_name)]

    def bool_without_value(self, long: str = "", short: str = "") -> bool:
        """Whether the flag named (long or short) takes no separate value argument."""
        flag = self._by_name.get(long) if long else self._by_short.get(short)
        return flag is not None and bool(flag.no_opt_default)

    def parse(self, args: Sequence[str]) -> None:
        """Parse ``args`` (interspersed flags; ``--`` ends them) into values and :attr:`args`.

        Raises:
            FlagError: on the first flag pflag would refuse.
        """
        rest = list(args)
        while rest:
            arg = rest.pop(0)
            if len(arg) < 2 or arg[0] != "-":
                self.args.append(arg)
            elif arg == "--":
                self.args_len_at_dash = len(self.args)
                self.args.extend(rest)
                return
            elif arg[1] == "-":
                rest = self._parse_long(arg, rest)
            else:
                rest = self._parse_shorts(arg, rest)

    def _parse_long(self, arg: str, rest: list[str]) -> list[str]:
        name = arg[2:]
        if not name or name[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        name, eq, value = name.partition("=")
        flag = self._by_name.get(name)
        if flag is None:
            raise FlagError(f"unknown flag: --{name}")
        if not eq:
            if flag.no_opt_default:
                value = flag.no_opt_default
            elif rest:
                value = rest.pop(0)
            else:
                raise FlagError(f"flag needs an argument: {arg}")
        flag.set(value)
        return rest

    def _parse_shorts(self, arg: str, rest: list[str]) -> list[str]:
        shorts = arg[1:]
        after = rest
        while shorts:
            group = shorts
            char, shorts = shorts[0], shorts[1:]
            flag = self._by_short.get(char)
            if flag is None:
                raise FlagError(f"unknown shorthand flag: '{char}' in -{group}")
            if len(shorts) > 1 and shorts[0] == "=":
                value, shorts = shorts[1:], ""
            elif flag.no_opt_default:
                value = flag.no_opt_default
            elif shorts:
                value, shorts = shorts, ""
            elif rest:
                # pflag reads the value from the arguments as they were before this group
                value, after = rest[0], rest[1:]
            else:
                raise FlagError(f"flag needs an argument: '{char}' in -{group}")
            flag.set(value)
        return after
