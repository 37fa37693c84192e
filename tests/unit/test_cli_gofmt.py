"""Go's fmt/strconv/time and go-humanize behaviours as etcdctl 3.5.1 (go1.16) shows them.

Known answers come from the spec, Go's and go-humanize's documented examples and tests, and
etcdctl 3.5.1 itself ([BIN]: pflag's ``invalid argument %q`` errors, ``bad lease ID (...)``,
and ``--debug``'s ``ETCDCTL_KEEPALIVE_TIME=`` line, which prints a parsed duration back).
"""

from __future__ import annotations

import ast
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcd3py.cli._gofmt import (
    GoDurationError,
    GoNumError,
    duration,
    format_duration_flag,
    humanize_bytes,
    humanize_time_since,
    parse_bool,
    parse_duration,
    parse_int,
    parse_uint,
    quote,
    quote_list,
)

INT64_MAX = 2**63 - 1

# --- %q ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", '""'),
        ("foo", '"foo"'),
        # strconv.Quote's documented example
        ('"Fran & Freddie\'s Diner\t\u263a"', '"\\"Fran & Freddie\'s Diner\\t\u263a\\""'),
        ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'),
        # [BIN] go1.16: DEL is \u007f, a zero-width space \u200b, an encoded surrogate is
        # three invalid bytes; letters and emoji stay
        (
            b'a\x01\x7f\xc3\xa9\xe2\x80\x8b\xf0\x9f\x98\x80\xed\xa0\x80"\\',
            '"a\\x01\\u007f\u00e9\\u200b\U0001f600\\xed\\xa0\\x80\\"\\\\"',
        ),
        (b"1\xffs", '"1\\xffs"'),  # [BIN]
        ("1\udcffs", '"1\\xffs"'),  # the same bytes, as sys.argv decodes them
        (b"\xe2\x82", '"\\xe2\\x82"'),  # a truncated sequence: one escape per byte
        ("\u00a0\u0085", '"\\u00a0\\u0085"'),  # no-break space, a C1 control
        ("\ue000\U0010ffff", '"\\ue000\\U0010ffff"'),  # private use, noncharacter
        ("\ufffd", '"\ufffd"'),  # a real U+FFFD is printable
        ("\u0661\u0300x", '"\u0661\u0300x"'),  # numbers and marks are printable
    ],
)
def test_quote(value: bytes | str, expected: str) -> None:
    assert quote(value) == expected


def test_quote_list() -> None:
    assert quote_list([]) == "[]"
    assert quote_list(["a", b"b c", "\n"]) == '["a" "b c" "\\n"]'


_TEXT = st.text(alphabet=st.characters(codec="utf-8"))


@given(_TEXT)
def test_quote_reads_back_as_a_python_literal(text: str) -> None:
    # on valid UTF-8 every escape Go writes means the same in a Python string literal
    assert ast.literal_eval(quote(text)) == text
    assert quote(text) == quote(text.encode())


@given(_TEXT)
def test_printable_text_is_kept(text: str) -> None:
    printable = "".join(
        ch
        for ch in text
        if ch == " " or (unicodedata.category(ch)[0] in "LMNPS" and ch not in '"\\')
    )
    assert quote(printable) == f'"{printable}"'


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1_100, "1.1\u00b5s"),
        (812_500, "812.5\u00b5s"),
        (2_200_000, "2.2ms"),
        (2_158_333, "2.158333ms"),
        (3_300_000_000, "3.3s"),
        (1_000_953_888, "1.000953888s"),
        (245_000_000_000, "4m5s"),
        (245_001_000_000, "4m5.001s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (18_367_001_000_000, "5h6m7.001s"),
        (480_000_000_001, "8m0.000000001s"),
        (3_720_300_000_000, "1h2m0.3s"),
        (INT64_MAX, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"),
        (-1_500, "-1.5\u00b5s"),
    ],
)
def test_duration(ns: int, expected: str) -> None:
    assert duration(ns) == expected
    assert format_duration_flag(ns) == expected


# [BIN] --keepalive-time=<text> with --debug: (text, what etcdctl prints back)
PARSED_DURATIONS = [
    ("0", "0s"),
    ("-0", "0s"),
    ("5s", "5s"),
    ("-5s", "-5s"),
    ("+5s", "5s"),
    ("5.0s", "5s"),
    ("5.6s", "5.6s"),
    ("5.s", "5s"),
    (".5s", "500ms"),
    ("1.004s", "1.004s"),
    ("100.00100s", "1m40.001s"),
    ("10ns", "10ns"),
    ("11us", "11\u00b5s"),
    ("12\u00b5s", "12\u00b5s"),
    ("12\u03bcs", "12\u00b5s"),
    ("13ms", "13ms"),
    ("15m", "15m0s"),
    ("16h", "16h0m0s"),
    ("3h30m", "3h30m0s"),
    ("10.5s4m", "4m10.5s"),
    ("-2m3.4s", "-2m3.4s"),
    ("1h2m3s4ms5us6ns", "1h2m3.004005006s"),
    ("39h9m14.425s", "39h9m14.425s"),
    ("52763797000ns", "52.763797s"),
    ("0.3333333333333333333h", "20m0s"),
    ("9007199254740993ns", "2501h59m59.254740993s"),
    ("9223372036854775807ns", "2562047h47m16.854775807s"),
    ("9223372036854775.807us", "2562047h47m16.854775807s"),
    ("9223372036854.775807ms", "2562047h47m16.854775807s"),
    ("9223372036.854775807s", "2562047h47m16.854775807s"),
    ("0.100000000000000000000h", "6m0s"),
    ("0.830103483285477580700h", "49m48.372539827s"),
    ("-9223372036854775807ns", "-2562047h47m16.854775807s"),
    ("1.00000000000000000000000000000000000001s", "1s"),
    ("0.0000000001s", "0s"),
    ("1.5h", "1h30m0s"),
    ("999.9999999us", "999.999\u00b5s"),
]


@pytest.mark.parametrize(("text", "shown"), PARSED_DURATIONS)
def test_parse_duration(text: str, shown: str) -> None:
    assert duration(parse_duration(text)) == shown


@pytest.mark.parametrize(
    ("text", "message"),
    [  # [BIN]; go1.16 puts the text between bare quotes, unescaped
        ("", 'time: invalid duration ""'),
        ("-", 'time: invalid duration "-"'),
        (".s", 'time: invalid duration ".s"'),
        ("\u00b5", 'time: invalid duration "\u00b5"'),
        ("5", 'time: missing unit in duration "5"'),
        ("1.5.3s", 'time: missing unit in duration "1.5.3s"'),
        ("1h2", 'time: missing unit in duration "1h2"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("1\u00b5", 'time: unknown unit "\u00b5" in duration "1\u00b5"'),
        ("1e3s", 'time: unknown unit "e" in duration "1e3s"'),
        ('1\udcff"s', 'time: unknown unit "\udcff"s" in duration "1\udcff"s"'),
        ("-9223372036854775808ns", 'time: invalid duration "-9223372036854775808ns"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("3000000h", 'time: invalid duration "3000000h"'),
        ("9223372036854ms775us808ns", 'time: invalid duration "9223372036854ms775us808ns"'),
        ("9" * 5000 + "s", f'time: invalid duration "{"9" * 5000}s"'),
    ],
)
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(GoDurationError) as caught:
        parse_duration(text)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


@given(st.integers(-INT64_MAX, INT64_MAX))
def test_a_duration_string_parses_back(ns: int) -> None:
    assert parse_duration(duration(ns)) == ns


# --- go-humanize -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [  # the spec's, then go-humanize v1.0.0's TestBytes
        (9, "9 B"),
        (1500, "1.5 kB"),
        (20480, "20 kB"),
        (24576, "25 kB"),
        (0, "0 B"),
        (803, "803 B"),
        (999, "999 B"),
        (1024, "1.0 kB"),
        (9999, "10 kB"),
        (10**6 - 1, "1000 kB"),
        (1024 * 1024, "1.0 MB"),
        (10**9 - 10**3, "1000 MB"),
        (10**9, "1.0 GB"),
        (10**12 - 10**6, "1000 GB"),
        (9999 * 1000, "10 MB"),
        (10**12, "1.0 TB"),
        (10**15 - 10**12, "999 TB"),
        (10**15, "1.0 PB"),
        (10**18 - 10**15, "999 PB"),
        (10**18, "1.0 EB"),
        (5_500_000_000, "5.5 GB"),
    ],
)
def test_humanize_bytes(n: int, expected: str) -> None:
    assert humanize_bytes(n) == expected


def test_humanize_bytes_takes_a_uint64() -> None:
    assert humanize_bytes(2**64 - 1) == "18 EB"
    for bad in (-1, 2**64):
        with pytest.raises(ValueError):
            humanize_bytes(bad)


_DAY = 86_400
_YEAR = 360 * _DAY


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [  # go-humanize v1.0.0's TestPast, TestFuture and TestReltimeOffbyone
        (0, "now"),
        (0.999, "now"),
        (1, "1 second ago"),
        (12, "12 seconds ago"),
        (45, "45 seconds ago"),
        (63, "1 minute ago"),
        (15 * 60, "15 minutes ago"),
        (63 * 60, "1 hour ago"),
        (2 * 3600, "2 hours ago"),
        (21 * 3600, "21 hours ago"),
        (26 * 3600, "1 day ago"),
        (49 * 3600, "2 days ago"),
        (3 * _DAY, "3 days ago"),
        (7 * _DAY - 1e-9, "6 days ago"),
        (7 * _DAY, "1 week ago"),
        (12 * _DAY, "1 week ago"),
        (15 * _DAY, "2 weeks ago"),
        (39 * _DAY, "1 month ago"),
        (99 * _DAY, "3 months ago"),
        (365 * _DAY, "1 year ago"),
        (400 * _DAY, "1 year ago"),
        (548 * _DAY, "2 years ago"),
        (800 * _DAY, "2 years ago"),
        (3 * _YEAR, "3 years ago"),
        (37 * _YEAR, "a long while ago"),
        (-1, "1 second from now"),
        (-12, "12 seconds from now"),
        (-15 * 60, "15 minutes from now"),
        (-26 * 3600, "1 day from now"),
        (-30 * _DAY, "1 month from now"),
        (-2 * _YEAR, "2 years from now"),
        (-37 * _YEAR, "a long while from now"),
    ],
)
def test_humanize_time_since(seconds: float, expected: str) -> None:
    assert humanize_time_since(seconds) == expected


# --- strconv -----------------------------------------------------------------------------


def _error(func: str, text: str, reason: str) -> str:
    return f"strconv.{func}: parsing {quote(text)}: {reason}"


@pytest.mark.parametrize(
    ("text", "value"),
    [  # pflag int flags ([BIN] accepted: etcdctl went on to dial)
        ("0", 0),
        ("12", 12),
        ("+5", 5),
        ("-7", -7),
        ("0x10", 16),
        ("-0x10", -16),
        ("0X1f", 31),
        ("0o17", 15),
        ("0O17", 15),
        ("017", 15),
        ("0b101", 5),
        ("0B1", 1),
        ("1_000", 1000),
        ("0x_1f", 31),
        ("9223372036854775807", INT64_MAX),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_parse_int_base_0(text: str, value: int) -> None:
    assert parse_int(text, 0) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [  # [BIN] `get --rev=<text>`
        ("abc", "invalid syntax"),
        ("", "invalid syntax"),
        (" 1", "invalid syntax"),
        ("\u0663", "invalid syntax"),
        ("_1", "invalid syntax"),
        ("1__0", "invalid syntax"),
        ("1_", "invalid syntax"),
        ("0x", "invalid syntax"),
        ("08", "invalid syntax"),
        ("9223372036854775808", "value out of range"),
        ("-9223372036854775809", "value out of range"),
        ("99999999999999999999x", "value out of range"),  # Go stops at the overflow
    ],
)
def test_parse_int_base_0_errors(text: str, reason: str) -> None:
    with pytest.raises(GoNumError) as caught:
        parse_int(text, 0)
    assert str(caught.value) == _error("ParseInt", text, reason)


def test_parse_int_hex_and_decimal() -> None:  # [BIN] put --lease, lease grant
    assert parse_int("-ff", 16) == -255
    assert parse_int("+FF", 16) == 255
    assert parse_int("-8000000000000000", 16) == -(2**63)
    assert parse_int("7fffffffffffffff", 16) == INT64_MAX
    cases = [
        ("zz", 16, "invalid syntax"),
        ("0x10", 16, "invalid syntax"),
        ("1_0", 16, "invalid syntax"),
        ("8000000000000000", 16, "value out of range"),
        ("-8000000000000001", 16, "value out of range"),
        ("fffffffffffffffffz", 16, "value out of range"),
        ("1.5", 10, "invalid syntax"),
        ("0x5", 10, "invalid syntax"),
        ("1_0", 10, "invalid syntax"),
        ("99999999999999999999", 10, "value out of range"),
        ("+", 10, "invalid syntax"),
        ("1", 1, "invalid base 1"),
        ("1", 37, "invalid base 37"),
    ]
    for text, base, reason in cases:
        with pytest.raises(GoNumError) as caught:
            parse_int(text, base)
        assert str(caught.value) == _error("ParseInt", text, reason)


def test_parse_int_bit_sizes() -> None:
    assert parse_int("-128", 10, 8) == -128
    assert parse_int("127", 10, 8) == 127
    for text in ("128", "-129"):
        with pytest.raises(GoNumError, match="value out of range"):
            parse_int(text, 10, 8)
    with pytest.raises(GoNumError, match="invalid bit size 65"):
        parse_int("1", 10, 65)


def test_parse_uint() -> None:  # [BIN] member remove <hex id>
    assert parse_uint("ffffffffffffffff", 16) == 2**64 - 1
    assert parse_uint("8E9E05C52164694D", 16) == 0x8E9E05C52164694D
    assert parse_uint("255", 10, 8) == 255
    for text, reason in [
        ("-1", "invalid syntax"),
        ("+1", "invalid syntax"),
        ("zz", "invalid syntax"),
        ("10000000000000000", "value out of range"),
    ]:
        with pytest.raises(GoNumError) as caught:
            parse_uint(text, 16)
        assert str(caught.value) == _error("ParseUint", text, reason)


_INT_TEXT = st.text(alphabet="0123456789abcdefxXoObB_+-", min_size=1, max_size=24)


@given(_INT_TEXT)
def test_base_0_agrees_with_python_where_python_accepts(text: str) -> None:
    # Python's int(text, 0) follows Go's literal syntax, except that it refuses "017"
    try:
        expected = int(text, 0)
    except ValueError:
        return
    if -(2**63) <= expected <= INT64_MAX:
        assert parse_int(text, 0) == expected
    else:
        with pytest.raises(GoNumError, match="value out of range"):
            parse_int(text, 0)


@given(st.integers(-(2**63), INT64_MAX), st.sampled_from([10, 16]))
def test_int64_round_trip(value: int, base: int) -> None:
    text = str(value) if base == 10 else f"{value:x}"
    assert parse_int(text, base) == value


@given(st.integers(0, 2**64 - 1))
def test_uint64_round_trip(value: int) -> None:
    assert parse_uint(f"{value:x}", 16) == value
    assert parse_uint(str(value), 0) == value


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_true(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_parse_bool_false(text: str) -> None:
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["yes", "tRUE", "2", "", " true"])
def test_parse_bool_errors(text: str) -> None:  # [BIN] get --prefix=<text>
    with pytest.raises(GoNumError) as caught:
        parse_bool(text)
    assert str(caught.value) == _error("ParseBool", text, "invalid syntax")
