"""Keys and values as bytes: the ``KeyLike`` alias, conversion, and range-end arithmetic.

Owns how a ``str | bytes`` argument becomes the bytes etcd stores, and the two range ends
clientv3 computes for you: the prefix range end (``GetPrefixRangeEnd`` in ``client/v3/op.go``)
and the from-key sentinel. No I/O; imports only ``etcd3py.errors``.
"""

from __future__ import annotations

from typing import TypeAlias

from etcd3py.errors import ArgumentTypeError

#: A key, value or range end as the user passes it: ``str`` (encoded UTF-8) or ``bytes``.
KeyLike: TypeAlias = str | bytes

#: The range end meaning "every key from the start key on" (clientv3 ``WithFromKey``).
FROM_KEY_END = b"\0"

#: The key that, with :data:`FROM_KEY_END` as range end, means "the whole key space".
ALL_KEYS_START = b"\0"


def to_bytes(value: object, what: str = "key") -> bytes:
    """Return ``value`` as bytes: ``str`` is encoded as UTF-8, ``bytes`` kept.

    Args:
        value: the user's argument.
        what: the argument's name, for the error message.

    Returns:
        The bytes to send.

    Raises:
        ArgumentTypeError: ``value`` is neither ``str`` nor ``bytes`` (``bytearray`` and
            ``memoryview`` are accepted as bytes too).
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise ArgumentTypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def prefix_range_end(prefix: bytes) -> bytes:
    """Return the range end that bounds exactly the keys starting with ``prefix``.

    The last byte below 0xff is incremented and everything after it dropped; when there is
    none (an empty or all-0xff prefix) no finite end exists and the from-key sentinel
    ``b"\\0"`` is returned, as clientv3's ``GetPrefixRangeEnd`` does.

    Args:
        prefix: the key prefix.

    Returns:
        The exclusive range end.
    """
    for i in range(len(prefix) - 1, -1, -1):
        if prefix[i] < 0xFF:
            return prefix[:i] + bytes((prefix[i] + 1,))
    return FROM_KEY_END
