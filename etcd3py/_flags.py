"""Bool attributes packed as the bits of one int, for records a client holds by the thousand.

A slot costs 8 bytes per instance; a watch record carries nine flags. :class:`Flag` is a
descriptor that reads and writes one bit of the instance's ``_flags`` int, so the flags of
one record cost one slot, and the code reading them stays ``watch.announced = True``.
"""

from __future__ import annotations

import operator
from typing import Any, Protocol

__all__ = ["Bit", "Flag"]


class _ReadsFlags(Protocol):
    @property
    def _flags(self) -> int: ...


class _HasFlags(Protocol):
    _flags: int


class Flag:
    """A bool attribute stored as one bit of the instance's ``_flags`` int (set to 0 first).

    Read-only on a frozen record (its ``_flags`` is set once, by its ``__init__``).
    """

    __slots__ = ("_bit",)

    def __init__(self, bit: int) -> None:
        """Name the bit.

        Args:
            bit: the flag's bit (0 for the lowest); each flag of a class takes its own.
        """
        self._bit = 1 << bit

    def __get__(self, obj: _ReadsFlags, owner: object = None) -> bool:
        return bool(obj._flags & self._bit)

    def __set__(self, obj: _HasFlags, on: bool) -> None:
        obj._flags = obj._flags | self._bit if on else obj._flags & ~self._bit


class Bit:
    """A read-only bool attribute: one bit of another int attribute of the instance.

    For flags kept in an int of their own (a small int, which CPython shares, costs a record
    no allocation; one int holding every flag of a record may not be small).
    """

    __slots__ = ("_bit", "_field")

    def __init__(self, field: str, bit: int) -> None:
        """Name the int attribute and the bit.

        Args:
            field: the name of the instance's int attribute holding the bit.
            bit: the bit (0 for the lowest).
        """
        self._field = operator.attrgetter(field)
        self._bit = 1 << bit

    def __get__(self, obj: Any, owner: object = None) -> bool:
        return bool(self._field(obj) & self._bit)
