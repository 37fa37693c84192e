"""CRC-32C (Castagnoli), the checksum etcd's HashKV uses; the standard library has only CRC-32."""

from __future__ import annotations

__all__ = ["crc32c"]


def _make_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _make_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """Return the CRC-32C of ``data``, continuing from a previous ``crc``.

    Args:
        data: the bytes to checksum.
        crc: the checksum of what came before (0 to start).

    Returns:
        The updated checksum.
    """
    c = crc ^ 0xFFFFFFFF
    table = _TABLE
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
