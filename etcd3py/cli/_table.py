"""etcdctl's ``-w table`` output: olekukonko/tablewriter v0.0.5 as etcdctl sets it up.

All borders, headers centred and upper-cased, data cells right-aligned, cells wider than
30 columns re-wrapped at spaces with the minimum-raggedness algorithm, no row lines.
Column widths are go-runewidth v0.0.9 ``StringWidth`` (non-CJK locale) of the text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence

__all__ = ["display_width", "render"]

#: Cells wider than this are wrapped (tablewriter's MAX_ROW_WIDTH).
_MAX_WIDTH = 30
#: The cost WrapWords adds for a line longer than the limit.
_PENALTY = 100_000

#: Code points go-runewidth v0.0.9 counts as zero columns: its "nonprint" ranges
#: (controls, soft hyphen, zero-width and bidi formatting, surrogates, BOM...), its
#: "combining" ranges (the EastAsianWidth.txt 13.0 lines whose names say COMBINING, far
#: fewer than all marks) and its two "notassigned" ranges.
_ZERO_WIDTH = sorted(
    [
        # nonprint
        (0x0000, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD), (0x070F, 0x070F),
        (0x180B, 0x180E), (0x200B, 0x200F), (0x2028, 0x202E), (0x206A, 0x206F),
        (0xD800, 0xDFFF), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0xFFFE, 0xFFFF),
        # notassigned
        (0x27E6, 0x27ED), (0x2985, 0x2986),
        # combining
        (0x0300, 0x036F), (0x0483, 0x0489), (0x07EB, 0x07F3), (0x0C00, 0x0C00),
        (0x0C04, 0x0C04), (0x0D00, 0x0D01), (0x135D, 0x135F), (0x1A7F, 0x1A7F),
        (0x1AB0, 0x1AC0), (0x1B6B, 0x1B73), (0x1DC0, 0x1DF9), (0x1DFB, 0x1DFF),
        (0x20D0, 0x20F0), (0x2CEF, 0x2CF1), (0x2DE0, 0x2DFF), (0x3099, 0x309A),
        (0xA66F, 0xA672), (0xA674, 0xA67D), (0xA69E, 0xA69F), (0xA6F0, 0xA6F1),
        (0xA8E0, 0xA8F1), (0xFE20, 0xFE2F), (0x101FD, 0x101FD), (0x10376, 0x1037A),
        (0x10EAB, 0x10EAC), (0x10F46, 0x10F50), (0x11300, 0x11301), (0x1133B, 0x1133C),
        (0x11366, 0x1136C), (0x11370, 0x11374), (0x16AF0, 0x16AF4), (0x1D165, 0x1D169),
        (0x1D16D, 0x1D172), (0x1D17B, 0x1D182), (0x1D185, 0x1D18B), (0x1D1AA, 0x1D1AD),
        (0x1D242, 0x1D244), (0x1E000, 0x1E006), (0x1E008, 0x1E018), (0x1E01B, 0x1E021),
        (0x1E023, 0x1E024), (0x1E026, 0x1E02A), (0x1E8D0, 0x1E8D6),
    ]
)  # fmt: skip
_ZERO_STARTS = [first for first, _ in _ZERO_WIDTH]
#: Blocks whose unassigned code points EastAsianWidth.txt also lists as Wide.
_WIDE_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFD))
#: ANSI colour codes (tablewriter strips them before measuring).
_ANSI = re.compile("\x1b\\[(?:[0-9]{1,3}(?:;[0-9]{1,3})*)?[m|K]")
#: Go's unicode.IsSpace, for strings.TrimSpace.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def _rune_width(ch: str) -> int:
    """go-runewidth v0.0.9 ``RuneWidth`` of one code point (non-CJK locale)."""
    if " " <= ch <= "~":
        return 1
    code = ord(ch)
    index = bisect_right(_ZERO_STARTS, code) - 1
    if index >= 0 and code <= _ZERO_WIDTH[index][1]:
        return 0
    if any(first <= code <= last for first, last in _WIDE_BLOCKS):
        return 2
    wide = unicodedata.east_asian_width(ch) in ("W", "F")
    return 2 if wide and unicodedata.category(ch) != "Cn" else 1


def _string_width(text: str) -> int:
    """go-runewidth ``StringWidth``: the sum of the code points' widths."""
    return sum(_rune_width(ch) for ch in text)


def display_width(s: str) -> int:
    """Return tablewriter's ``DisplayWidth``: ``StringWidth`` once ANSI colours are removed.

    ASCII printables count 1, East Asian Wide and Fullwidth characters 2, controls, the
    zero-width characters and go-runewidth's (short) list of combining marks 0.
    """
    return _string_width(_ANSI.sub("", s))


def _wrap_words(words: list[str], limit: int) -> list[list[str]]:
    """tablewriter's ``WrapWords``: break ``words`` into lines of minimum raggedness."""
    count = len(words)
    widths = [_string_width(word) for word in words]
    cost = [2**31 - 1] * count
    breaks = [0] * count
    for first in range(count - 1, -1, -1):
        # line_width[j] = width of words[first..j] joined by single spaces
        line_width = [0] * count
        total = -1
        for j in range(first, count):
            total += widths[j] + 1
            line_width[j] = total
        if line_width[count - 1] <= limit:
            cost[first], breaks[first] = 0, count
            continue
        for j in range(first + 1, count):
            gap = limit - line_width[j - 1]
            candidate = gap * gap + cost[j] + (_PENALTY if line_width[j - 1] > limit else 0)
            if candidate < cost[first]:
                cost[first], breaks[first] = candidate, j
    lines = []
    start = 0
    while start < count:
        lines.append(words[start : breaks[start]])
        start = breaks[start]
    return lines


def _wrap_string(text: str, limit: int) -> list[str]:
    """tablewriter's ``WrapString``: words split at single spaces, re-joined per line."""
    words = text.replace("\n", " ").split(" ")
    limit = max(limit, *(_string_width(word) for word in words))
    return [" ".join(line) for line in _wrap_words(words, limit)]


def _cell_lines(cell: str) -> tuple[list[str], int]:
    """tablewriter's ``parseDimension`` with auto-wrap and reflow on: (lines, width)."""
    raw = cell.split("\n")
    width = min(max(display_width(line) for line in raw), _MAX_WIDTH)
    lines = _wrap_string(" ".join(raw), width)
    return lines, max(width, *(display_width(line) for line in lines))


def _title(name: str) -> str:
    """tablewriter's ``Title``: ``_`` and most ``.`` to spaces, trimmed, upper-cased."""
    chars = list(name)
    last = len(chars) - 1
    for i, ch in enumerate(chars):
        # a "." stays only between digits or spaces (a number such as "0.5")
        if ch == "_" or (
            ch == "."
            and (
                (i != 0 and not _num_or_space(chars[i - 1]))
                or (i != last and not _num_or_space(chars[i + 1]))
            )
        ):
            chars[i] = " "
    trimmed = "".join(chars).strip(_GO_SPACE)
    if not trimmed and name:
        trimmed = " "  # tablewriter keeps one character
    # Go's strings.ToUpper maps rune by rune: no "SS" for "ß"
    return "".join(up if len(up := ch.upper()) == 1 else ch for ch in trimmed)


def _num_or_space(ch: str) -> bool:
    """Whether ``ch`` is an ASCII digit or a space (``Title`` keeps ``.`` between them)."""
    return "0" <= ch <= "9" or ch == " "


def _pad_center(text: str, width: int) -> str:
    """tablewriter's ``Pad``: centre ``text`` in ``width`` (the odd space goes right)."""
    gap = width - display_width(text)
    if gap <= 0:
        return text
    return " " * (gap // 2) + text + " " * (gap - gap // 2)


def _pad_left(text: str, width: int) -> str:
    """tablewriter's ``PadLeft``: right-align ``text`` in ``width``."""
    return " " * max(width - display_width(text), 0) + text


def render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return the table etcdctl prints for ``header`` and ``rows``, ending with a newline.

    With no rows: border, header, border, border.
    """
    widths: dict[int, int] = {}

    def measure(cell: str, column: int) -> list[str]:
        """Wrap ``cell`` of ``column``, widening the column to it; return its lines."""
        lines, width = _cell_lines(cell)
        widths[column] = max(widths.get(column, 0), width)
        return lines

    header_cells = [measure(cell, column) for column, cell in enumerate(header)]
    body = [[measure(cell, column) for column, cell in enumerate(row)] for row in rows]
    border = "+" + "".join("-" * (widths[column] + 2) + "+" for column in range(len(widths)))
    out = [border]
    if header_cells:
        for line in range(max(len(cell) for cell in header_cells)):
            cells = header_cells + [[]] * (len(widths) - len(header_cells))
            texts = [cell[line] if line < len(cell) else "" for cell in cells]
            out.append(
                "|"
                + "".join(
                    f" {_pad_center(_title(text), widths[column])} |"
                    for column, text in enumerate(texts)
                )
            )
        out.append(border)
    for cells in body:
        height = max((len(cell) for cell in cells), default=0)
        padded = [cell + ["  "] * (height - len(cell)) for cell in cells]
        for line in range(height):
            out.append(
                "".join(
                    f"| {_pad_left(cell[line], widths[column])} "
                    for column, cell in enumerate(padded)
                )
                + "|"
            )
    out.append(border)
    return "\n".join(out) + "\n"
