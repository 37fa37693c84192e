"""etcdctl's usage text: its template, written through Go's ``text/tabwriter``.

etcdctl prints every help and usage text with one template (pkg/cobrautl) through a
tabwriter of minimum width 0, tab width 8, padding 1 and TAB as the pad character, so the
columns are aligned with tabs exactly as :func:`tabwrite` computes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etcd3py.cli._command import Command

__all__ = ["VERSION", "API_VERSION", "tabwrite", "usage"]

#: The etcdctl version this command line reproduces, and its API version.
VERSION = "3.5.1"
API_VERSION = "3.5"

_TAB_WIDTH = 8
_PADDING = 1


def tabwrite(text: str) -> str:
    """Align ``text``'s tab-terminated cells as Go's tabwriter (padchar TAB) does."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    _format(lines, 0, len(lines), [], out)
    return "\n".join(out)


def _format(
    lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]
) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        # a cell in this column: a column block starts here
        _write_lines(lines, line0, this, widths, out)
        line0 = this
        width = 0
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + _PADDING)
            this += 1
        _format(lines, line0, this, [*widths, width], out)
        line0 = this
    _write_lines(lines, line0, line1, widths, out)


def _write_lines(
    lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]
) -> None:
    for cells in lines[line0:line1]:
        text = []
        for j, cell in enumerate(cells):
            text.append(cell)
            if j < len(widths) and j < len(cells) - 1:
                cell_width = -(-widths[j] // _TAB_WIDTH) * _TAB_WIDTH
                text.append("\t" * -(-(cell_width - len(cell)) // _TAB_WIDTH))
        out.append("".join(text))


def _name(cmd: Command, root: Command) -> str:
    """The command's path below ``root`` (cobrautl's cmdName)."""
    return cmd.path().replace(root.path() + " ", "", 1)


def usage(cmd: Command, *, help_flag: bool = True) -> str:
    """The usage text etcdctl prints for ``cmd`` (help, and after a flag error).

    ``help_flag=False`` leaves ``--help`` out of the options, as cobra does for a command
    whose help flag it has not set up (the top command, when ``help`` names no topic).
    """
    root = cmd.root()
    parts = ["NAME:\n"]
    parts.append(f"\t{cmd.name if cmd.parent is None else _name(cmd, root)} - {cmd.short}\n")
    parts.append(f"\nUSAGE:\n\t{cmd.use_line()}\n")
    if cmd.parent is None:
        parts.append(f"\nVERSION:\n\t{VERSION}\n")
    if cmd.children:
        parts.append(f"\nAPI VERSION:\n\t{API_VERSION}\n")
        parts.append("\n\nCOMMANDS:\n")
        for sub in cmd.descendants():
            if sub.runnable():
                parts.append(f"\t{_name(sub, cmd)}\t{sub.short}\n")
    if cmd.long:
        parts.append("\nDESCRIPTION:\n")
        parts.extend(f"\t{line}\n" for line in cmd.long.strip("\n\t ").split("\n"))
    local = [f for f in cmd.local_flags() if help_flag or f is not cmd.help_flag]
    if local:
        parts.append("\nOPTIONS:\n")
        parts.extend(flag.usage_line() for flag in sorted(local, key=lambda f: f.name))
    inherited = cmd.inherited_flags()
    if inherited:
        parts.append("\nGLOBAL OPTIONS:\n")
        parts.extend(flag.usage_line() for flag in sorted(inherited, key=lambda f: f.name))
    parts.append("\n")
    return tabwrite("".join(parts))
