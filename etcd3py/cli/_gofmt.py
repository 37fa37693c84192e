"""Go's text formatting and parsing as etcdctl 3.5.1 (go1.16) shows them.

``%q`` (strconv.Quote), ``time.Duration.String``, go-humanize v1.0.0 ``Bytes`` and
``Time``, and the strconv/time parsers behind etcdctl's arguments and pflag's flags, with
Go's error texts. Go strings are bytes: a ``str`` argument stands for its UTF-8 bytes, with
``surrogateescape`` characters (as in ``sys.argv``) standing for the raw bytes they replace.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

__all__ = [
    "GoDurationError",
    "GoNumError",
    "duration",
    "format_duration_flag",
    "humanize_bytes",
    "humanize_time_since",
    "parse_bool",
    "parse_duration",
    "parse_int",
    "parse_uint",
    "quote",
    "quote_list",
]

_SHORT_ESCAPES = {
    0x07: r"\a",
    0x08: r"\b",
    0x0C: r"\f",
    0x0A: r"\n",
    0x0D: r"\r",
    0x09: r"\t",
    0x0B: r"\v",
}


def _go_bytes(s: bytes | str) -> bytes:
    """Return the bytes a Go string made from ``s`` holds (see the module docstring)."""
    if isinstance(s, bytes):
        return s
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte: keep its WTF-8 bytes
        return b"".join(
            bytes([ord(ch) - 0xDC00])
            if 0xDC80 <= ord(ch) <= 0xDCFF
            else ch.encode("utf-8", "surrogatepass")
            for ch in s
        )


def _is_print(ch: str) -> bool:
    """Go ``unicode.IsPrint``: letters, marks, numbers, punctuation, symbols, ASCII space."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def quote(s: bytes | str) -> str:
    """Return Go's ``%q`` (``strconv.Quote``) of the bytes ``s``, as go1.16 writes it.

    An invalid UTF-8 byte is ``\\xNN``; a printable rune is kept; ``\\a \\b \\f \\n \\r \\t
    \\v`` are short escapes; other runes below U+0020 are ``\\xNN``, the rest (U+007F
    included, in go1.16) ``\\uNNNN`` or ``\\UNNNNNNNN``.
    """
    out = ['"']
    # surrogateescape turns each byte of an invalid sequence into its own U+DC80..U+DCFF,
    # just as Go's decoder takes one invalid byte at a time
    for ch in _go_bytes(s).decode("utf-8", "surrogateescape"):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in '"\\':
            out.append("\\" + ch)
        elif _is_print(ch):
            out.append(ch)
        elif code in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[code])
        elif code < 0x20:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def quote_list(items: Sequence[bytes | str]) -> str:
    """Return Go's ``%q`` of a ``[]string``: ``["a" "b"]``, ``[]`` when empty."""
    return "[" + " ".join(quote(item) for item in items) + "]"


def _with_fraction(value: int, digits: int) -> str:
    """Return ``value / 10**digits`` in decimal, trailing zeros (and a bare ``.``) dropped."""
    whole, frac = divmod(value, 10**digits)
    text = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{text}" if text else str(whole)


def duration(ns: int) -> str:
    """Return Go's ``time.Duration(ns).String()``: ``0s``, ``812.5µs``, ``1h0m0s``..."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_with_fraction(u, 3)}\u00b5s"
    if u < 1_000_000_000:
        return f"{sign}{_with_fraction(u, 6)}ms"
    minutes, rest = divmod(u, 60_000_000_000)
    text = _with_fraction(rest, 9) + "s"
    if minutes:
        hours, minutes = divmod(minutes, 60)
        text = f"{minutes}m{text}"
        if hours:
            text = f"{hours}h{text}"
    return sign + text


#: pflag shows a duration flag's default with ``Duration.String`` too.
format_duration_flag = duration

_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def humanize_bytes(n: int) -> str:
    """Return go-humanize v1.0.0 ``Bytes(n)``: ``9 B``, ``1.5 kB``, ``25 kB``, ``83 MB``...

    Raises:
        ValueError: ``n`` is not a ``uint64``.
    """
    if not 0 <= n < 2**64:
        raise ValueError(f"humanize_bytes takes a uint64, not {n}")
    if n < 10:
        return f"{n} B"
    exp = math.floor(math.log(n) / math.log(1000))
    value = math.floor(n / math.pow(1000, exp) * 10 + 0.5) / 10
    return f"{value:.0f} {_BYTE_UNITS[exp]}" if value >= 10 else f"{value:.1f} {_BYTE_UNITS[exp]}"


_SECOND = 1_000_000_000
_DAY = 86_400 * _SECOND
_MONTH = 30 * _DAY
_YEAR = 12 * _MONTH
#: go-humanize v1.0.0 ``defaultMagnitudes``: (below this many ns, format, divide by).
_MAGNITUDES = (
    (_SECOND, "now", 1),
    (2 * _SECOND, "1 second {lbl}", 1),
    (60 * _SECOND, "{n} seconds {lbl}", _SECOND),
    (120 * _SECOND, "1 minute {lbl}", 1),
    (3_600 * _SECOND, "{n} minutes {lbl}", 60 * _SECOND),
    (7_200 * _SECOND, "1 hour {lbl}", 1),
    (_DAY, "{n} hours {lbl}", 3_600 * _SECOND),
    (2 * _DAY, "1 day {lbl}", 1),
    (7 * _DAY, "{n} days {lbl}", _DAY),
    (14 * _DAY, "1 week {lbl}", 1),
    (_MONTH, "{n} weeks {lbl}", 7 * _DAY),
    (2 * _MONTH, "1 month {lbl}", 1),
    (_YEAR, "{n} months {lbl}", _MONTH),
    (18 * _MONTH, "1 year {lbl}", 1),
    (2 * _YEAR, "2 years {lbl}", 1),
    (37 * _YEAR, "{n} years {lbl}", _YEAR),
)


def humanize_time_since(seconds: float) -> str:
    """Return go-humanize v1.0.0 ``Time(then)`` for a moment ``seconds`` before now.

    ``now`` under a second, ``1 second ago``, ``5 minutes ago``, ``1 day ago``... A negative
    ``seconds`` is a moment in the future (``... from now``).
    """
    diff = round(seconds * _SECOND)
    label = "ago" if diff >= 0 else "from now"
    diff = abs(diff)
    for below, fmt, unit in _MAGNITUDES:
        if diff < below:
            return fmt.format(n=diff // unit, lbl=label)
    return f"a long while {label}"


class GoNumError(ValueError):
    """A ``*strconv.NumError``; ``str()`` is Go's text.

    ``strconv.ParseInt: parsing "12x": invalid syntax``.
    """

    def __init__(self, func: str, num: str, reason: str) -> None:
        """Record the function (``ParseInt``...), its input and the reason."""
        super().__init__(func, num, reason)
        self.func = func
        self.num = num
        self.reason = reason

    def __str__(self) -> str:
        """Go's ``NumError.Error()``."""
        return f"strconv.{self.func}: parsing {quote(self.num)}: {self.reason}"


_SYNTAX = "invalid syntax"
_RANGE = "value out of range"


def _underscores_ok(data: bytes) -> bool:
    """Whether every ``_`` in a base-0 literal sits between digits (or a prefix and a digit)."""
    if data[:1] in (b"+", b"-"):
        data = data[1:]
    prefixed = data[:1] == b"0" and data[1:2].lower() in (b"b", b"o", b"x")
    digits = b"0123456789abcdefABCDEF" if data[1:2].lower() == b"x" and prefixed else b"0123456789"
    last = "digit" if prefixed else "start"
    for byte in data[2:] if prefixed else data:
        if byte in digits:
            last = "digit"
        elif byte == ord("_"):
            if last != "digit":
                return False
            last = "_"
        elif last == "_":
            return False
        else:
            last = "other"
    return last != "_"


def _digit(byte: int) -> int:
    """The value of an ASCII digit or letter (``a``/``A`` is 10), else 99."""
    if 0x30 <= byte <= 0x39:
        return byte - 0x30
    lower = byte | 0x20
    return lower - 0x61 + 10 if 0x61 <= lower <= 0x7A else 99


def _unsigned(func: str, s: str, base: int, bits: int) -> int:
    """``strconv.ParseUint`` of ``s``; errors name ``func``."""
    data = _go_bytes(s)
    if not data:
        raise GoNumError(func, s, _SYNTAX)
    with_prefixes = base == 0
    if base == 0:
        base = 10
        if data[:1] == b"0":
            prefix = data[1:2].lower() if len(data) >= 3 else b""
            base = {b"b": 2, b"o": 8, b"x": 16}.get(prefix, 8)
            data = data[2:] if prefix in (b"b", b"o", b"x") else data[1:]
    elif not 2 <= base <= 36:
        raise GoNumError(func, s, f"invalid base {base}")
    if bits == 0:
        bits = 64
    elif not 0 < bits <= 64:
        raise GoNumError(func, s, f"invalid bit size {bits}")
    limit = (1 << bits) - 1
    value = 0
    for byte in data:
        if byte == ord("_") and with_prefixes:
            continue
        digit = _digit(byte)
        if digit >= base:
            raise GoNumError(func, s, _SYNTAX)
        value = value * base + digit
        if value > limit:  # Go stops at the first overflow, before any later bad digit
            raise GoNumError(func, s, _RANGE)
    if with_prefixes and b"_" in data and not _underscores_ok(_go_bytes(s)):
        raise GoNumError(func, s, _SYNTAX)
    return value


def parse_uint(s: str, base: int, bits: int = 64) -> int:
    """Go's ``strconv.ParseUint(s, base, bits)``: no sign; base 0 takes Go's prefixes.

    Raises:
        GoNumError: ``strconv.ParseUint: parsing "<s>": invalid syntax`` (or ``value out of
            range``).
    """
    return _unsigned("ParseUint", s, base, bits)


def parse_int(s: str, base: int, bits: int = 64) -> int:
    """Go's ``strconv.ParseInt(s, base, bits)``: an optional sign, then as :func:`parse_uint`.

    Base 0 is pflag's int flags: ``0x``/``0o``/``0b`` prefixes (either case), a leading
    ``0`` for octal, and ``_`` between digits.

    Raises:
        GoNumError: ``strconv.ParseInt: parsing "<s>": invalid syntax`` (or ``value out of
            range``).
    """
    if not s:
        raise GoNumError("ParseInt", s, _SYNTAX)
    negative = s[0] == "-"
    digits = s[1:] if s[0] in "+-" else s
    try:
        value = _unsigned("ParseInt", digits, base, bits)
    except GoNumError as exc:
        if exc.reason != _RANGE:
            raise GoNumError("ParseInt", s, exc.reason) from None
        value = 1 << 64  # out of range for any bit size
    cutoff = 1 << ((bits or 64) - 1)
    if value > cutoff or (value == cutoff and not negative):
        raise GoNumError("ParseInt", s, _RANGE)
    return -value if negative else value


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(s: str) -> bool:
    """Go's ``strconv.ParseBool``: ``1 t T TRUE true True`` or ``0 f F FALSE false False``.

    Raises:
        GoNumError: ``strconv.ParseBool: parsing "<s>": invalid syntax``.
    """
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise GoNumError("ParseBool", s, _SYNTAX)


class GoDurationError(ValueError):
    """An error of Go's ``time.ParseDuration``; ``str()`` is Go's text."""


_INT64_MAX = 2**63 - 1
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek small letter mu
    "ms": 1_000_000,
    "s": _SECOND,
    "m": 60 * _SECOND,
    "h": 3_600 * _SECOND,
}


def _leading_digits(s: str, pos: int) -> tuple[int, int, float, bool]:
    """Read the ASCII digits of ``s`` from ``pos`` as Go's duration parser does.

    Returns:
        ``(end, value, scale, overflow)``: the index after the digits; the value of the
        digits up to the first that would take it past int64 (Go skips the rest of a
        fraction's digits, and refuses a whole part that overflows); ``10.0 ** n`` for the
        ``n`` digits used; whether any digit was dropped.
    """
    end, value, scale, overflow = pos, 0, 1.0, False
    while end < len(s) and "0" <= s[end] <= "9":
        digit = ord(s[end]) - 0x30
        if not overflow and value * 10 + digit <= _INT64_MAX:
            value, scale = value * 10 + digit, scale * 10
        else:
            overflow = True
        end += 1
    return end, value, scale, overflow


def parse_duration(s: str) -> int:
    """Go's ``time.ParseDuration`` (go1.16), in nanoseconds: ``1.5h``, ``-2m3s``, ``0``.

    Raises:
        GoDurationError: ``time: invalid duration "<s>"``, ``time: missing unit in duration
            "<s>"`` or ``time: unknown unit "<u>" in duration "<s>"`` (go1.16 quotes these
            with bare ``"``, no escaping).
    """
    invalid = GoDurationError(f'time: invalid duration "{s}"')
    rest = s[1:] if s[:1] in ("-", "+") else s
    if rest == "0":
        return 0
    if not rest:
        raise invalid
    total, pos = 0, 0
    while pos < len(rest):
        if not (rest[pos] == "." or "0" <= rest[pos] <= "9"):
            raise invalid
        end, whole, _, overflow = _leading_digits(rest, pos)
        if overflow:
            raise invalid
        seen_digits = end > pos
        frac, scale = 0, 1.0
        if end < len(rest) and rest[end] == ".":
            start = end + 1
            end, frac, scale, _ = _leading_digits(rest, start)
            seen_digits = seen_digits or end > start
        if not seen_digits:  # "." or ".s"
            raise invalid
        pos = end
        while pos < len(rest) and not (rest[pos] == "." or "0" <= rest[pos] <= "9"):
            pos += 1
        unit_name = rest[end:pos]
        if not unit_name:
            raise GoDurationError(f'time: missing unit in duration "{s}"')
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise GoDurationError(f'time: unknown unit "{unit_name}" in duration "{s}"')
        if whole > _INT64_MAX // unit:
            raise invalid
        # Go adds the fraction in float64: exact to the nanosecond up to hours
        total += whole * unit + int(float(frac) * (float(unit) / scale))
        if total > _INT64_MAX:
            raise invalid
    return -total if s[:1] == "-" else total
