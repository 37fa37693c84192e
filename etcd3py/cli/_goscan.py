"""Go's text scanning as etcdctl's line-based input meets it: ``fmt`` scans and ``Argify``.

``txn`` reads its compares with ``fmt.Sscanf("%q) %s %q")`` and splits its op lines, as
interactive ``watch`` splits its lines, with etcdctl's ``Argify``; both unquote Go string
literals. :class:`Scanner` does fmt's part, :func:`argify` etcdctl's (its single-quote bug
included).
"""

from __future__ import annotations

import re

from etcd3py.cli._console import INVALID_INPUT, GoPanic, fail

__all__ = ["GO_SPACES", "ScanError", "Scanner", "argify", "bytes_of", "go_trim_space", "text_of"]

#: Go's ``unicode.IsSpace`` (also fmt's scanning spaces and ``strings.TrimSpace``'s).
GO_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)


def text_of(data: bytes) -> str:
    """Bytes as text, each undecodable byte kept as a lone surrogate (Go keeps the byte)."""
    return data.decode("utf-8", "surrogateescape")


def bytes_of(text: str) -> bytes:
    """Undo :func:`text_of`."""
    return text.encode("utf-8", "surrogateescape")


def go_trim_space(text: str) -> str:
    """Go's ``strings.TrimSpace``: Unicode spaces off both ends (no undecodable byte is one)."""
    return text.strip("".join(GO_SPACES))


class ScanError(Exception):
    """fmt's scan stopped (its error text is never shown by etcdctl, only what was scanned)."""


_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
_HEX = frozenset("0123456789abcdefABCDEF")


def _unquote(quoted: str) -> bytes:
    """Go's ``strconv.Unquote`` of a double-quoted string of valid runes, as bytes.

    Raises:
        ScanError: ``invalid syntax`` (a bad escape).
    """
    body, out, i = quoted[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
            continue
        escape, i = body[i + 1 : i + 2], i + 2
        if escape in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[escape])
        elif escape in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[escape]
            digits, i = body[i : i + width], i + width
            if len(digits) < width or not set(digits) <= _HEX:
                raise ScanError("invalid syntax")
            value = int(digits, 16)
            if escape == "x":
                out.append(value)
            elif value > 0x10FFFF:
                raise ScanError("invalid syntax")
            else:  # Go encodes a surrogate half as U+FFFD
                out += ("\ufffd" if 0xD800 <= value <= 0xDFFF else chr(value)).encode()
        elif escape and escape in "01234567":
            digits, i = escape + body[i : i + 2], i + 2
            if len(digits) < 3 or not set(digits) <= set("01234567") or int(digits, 8) > 255:
                raise ScanError("invalid syntax")
            out.append(int(digits, 8))
        else:
            raise ScanError("invalid syntax")
    return bytes(out)


class Scanner:
    """Go's ``fmt`` scan state over a string: runes, an undecodable byte read as U+FFFD."""

    def __init__(self, text: str) -> None:
        """Scan ``text`` from its start."""
        self._runes = "".join("\ufffd" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text)
        self._pos = 0

    def _get(self) -> str:
        """The next rune, or "" at the end."""
        if self._pos >= len(self._runes):
            return ""
        self._pos += 1
        return self._runes[self._pos - 1]

    def _must_get(self) -> str:
        """The next rune; the end is ``unexpected EOF``."""
        rune = self._get()
        if not rune:
            raise ScanError("unexpected EOF")
        return rune

    def skip_space(self) -> None:
        """Skip spaces (the input never holds a newline)."""
        while self._pos < len(self._runes) and self._runes[self._pos] in GO_SPACES:
            self._pos += 1

    def _start_operand(self) -> None:
        """What fmt does before a string verb: skip spaces, then require input (``EOF``)."""
        self.skip_space()
        if self._pos >= len(self._runes):
            raise ScanError("EOF")

    def quoted(self) -> bytes:
        """``%q``: a Go double-quoted (escapes) or back-quoted (raw) string."""
        self._start_operand()
        quote_char = self._get()
        if quote_char == "`":
            raw: list[str] = []
            while (rune := self._must_get()) != "`":
                raw.append(rune)
            return "".join(raw).encode()
        if quote_char != '"':
            raise ScanError("expected quoted string")
        text = ['"']
        while True:
            rune = self._must_get()
            text.append(rune)
            if rune == "\\":
                text.append(self._must_get())
            elif rune == '"':
                return _unquote("".join(text))

    def word(self) -> str:
        """``%s``: the next run of non-space runes."""
        self._start_operand()
        start = self._pos
        while self._pos < len(self._runes) and self._runes[self._pos] not in GO_SPACES:
            self._pos += 1
        return self._runes[start : self._pos]

    def literal(self, char: str) -> None:
        """A literal character of the format, which the input must have next."""
        if self._must_get() != char:
            self._pos -= 1
            raise ScanError("input does not match format")

    def space(self) -> None:
        """A space of the format: one or more spaces in the input, or its end."""
        rune = self._get()
        if rune and rune not in GO_SPACES:
            raise ScanError("expected space in input to match format")
        while rune and rune in GO_SPACES:
            rune = self._get()
        if rune:
            self._pos -= 1


_NOT_ARG = "'\"\t\n\f\r "  # RE2's \s is [\t\n\f\r ]
_TOKEN = re.compile(rf'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^{_NOT_ARG}][^\t\n\f\r ]*[^{_NOT_ARG}]?')


def argify(line: str) -> list[str]:
    """etcdctl's ``Argify``: split a line into words as txn op lines and interactive watch do.

    A double-quoted word is unquoted with Go's rules (``Error: invalid syntax``, exit 3); a
    single-quoted word becomes ``word[1 : len(words) - 1]`` in bytes (etcdctl's bug: the
    number of words, not the word's length), a Go panic when out of range.

    Raises:
        Exit: a double-quoted word with a bad escape.
        GoPanic: the single-quote slice is out of range.
    """
    words = _TOKEN.findall(line)
    for i, word in enumerate(words):
        if word.startswith("'"):
            raw, high = bytes_of(word), len(words) - 1
            if high > len(raw):
                raise GoPanic(
                    f"runtime error: slice bounds out of range [:{high}] with length {len(raw)}"
                )
            if high < 1:
                raise GoPanic(f"runtime error: slice bounds out of range [1:{high}]")
            words[i] = text_of(raw[1:high])
        elif word.startswith('"'):
            try:
                words[i] = text_of(Scanner(word).quoted())
            except ScanError as exc:
                raise fail(INVALID_INPUT, exc) from None
    return words
