"""Run a check in a forked child process and read back what it reported."""

from __future__ import annotations

import os
from collections.abc import Callable


def in_forked_child(check: Callable[[], bytes]) -> bytes:
    """Fork; in the child run ``check`` and send its bytes back, then leave at once.

    The child leaves with ``os._exit`` (no atexit hook, no inherited cleanup runs twice); an
    exception in ``check`` is reported as ``b"raised <type>"``.

    Returns:
        What the child reported.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            try:
                seen = check()
            except BaseException as exc:  # reported to the parent
                seen = f"raised {type(exc).__name__}".encode()
            os.write(write_end, seen)
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as pipe:
            return pipe.read()
    finally:
        os.waitpid(pid, 0)
