"""Key conversion and prefix range-end arithmetic (clientv3 GetPrefixRangeEnd)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcd3py._keys import FROM_KEY_END, prefix_range_end, to_bytes
from etcd3py.errors import ArgumentTypeError


def test_to_bytes_encodes_str_as_utf8_and_keeps_bytes() -> None:
    assert to_bytes("clé") == "clé".encode()
    assert to_bytes(b"\xff\x00") == b"\xff\x00"
    assert to_bytes(bytearray(b"ab")) == b"ab"


@pytest.mark.parametrize("bad", [1, 1.5, None, ["a"], True, object()])
def test_to_bytes_refuses_other_types(bad: object) -> None:
    with pytest.raises(ArgumentTypeError, match="key must be str or bytes"):
        to_bytes(bad)


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        (b"a", b"b"),
        (b"/jobs/", b"/jobs0"),
        (b"a\xff", b"b"),
        (b"a\xfe\xff\xff", b"a\xff"),
        (b"\xff", FROM_KEY_END),
        (b"\xff\xff", FROM_KEY_END),
        (b"", FROM_KEY_END),
    ],
)
def test_prefix_range_end_examples(prefix: bytes, end: bytes) -> None:
    assert prefix_range_end(prefix) == end


@given(prefix=st.binary(max_size=6), key=st.binary(max_size=8))
def test_prefix_range_end_bounds_exactly_the_prefixed_keys(prefix: bytes, key: bytes) -> None:
    end = prefix_range_end(prefix)
    in_range = key >= prefix and (end == FROM_KEY_END or key < end)
    if end == FROM_KEY_END and prefix.strip(b"\xff") == b"":
        # No finite end: the range runs to the end of the key space, as in clientv3.
        assert in_range == (key >= prefix)
    else:
        assert in_range == key.startswith(prefix)


@given(prefix=st.binary(min_size=1, max_size=6).filter(lambda p: p.strip(b"\xff") != b""))
def test_prefix_range_end_is_the_smallest_key_above_the_prefix_range(prefix: bytes) -> None:
    end = prefix_range_end(prefix)
    assert end > prefix
    assert not end.startswith(prefix)
    assert len(end) <= len(prefix)
