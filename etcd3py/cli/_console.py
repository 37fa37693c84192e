"""The process around a command: its streams, environment and raw argv, and how it ends.

etcdctl writes with unbuffered Go ``fmt`` calls and ends through ``os.Exit``; a
:class:`Console` writes each piece at once (so the order against child processes and the
other stream holds), and a command ends early by raising :class:`Exit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from etcd3py import Client

__all__ = ["Console", "Exit", "GoPanic", "fail"]

# pkg/cobrautl's exit codes
SUCCESS = 0
ERROR = 1
BAD_CONNECTION = 2
INVALID_INPUT = 3
BAD_FEATURE = 4
INTERRUPTED = 5
BAD_ARGS = 128


class Exit(Exception):
    """End the command with ``code``; ``message`` (if any) is printed as ``Error: message``."""

    def __init__(self, code: int, message: str | None = None) -> None:
        """Say how the command ends."""
        super().__init__(code, message)
        self.code = code
        self.message = message


def fail(code: int, message: object) -> Exit:
    """Return the :class:`Exit` of etcdctl's ``ExitWithError(code, err)``; raise it."""
    return Exit(code, str(message))


class GoPanic(Exception):
    """A Go runtime panic etcdctl meets at this point: ``panic: <message>``, exit 2."""

    def __init__(self, message: str, signal: str = "") -> None:
        """Say what etcdctl panics with, and the fault signal's line if Go prints one."""
        super().__init__(message)
        self.signal = signal


class Console:
    """The streams, environment and raw arguments of one run of the command line."""

    def __init__(
        self,
        stdin: BinaryIO,
        stdout: BinaryIO,
        stderr: BinaryIO,
        environ: Mapping[str, str],
        argv: Sequence[str],
    ) -> None:
        """Hold the process's pieces.

        Args:
            stdin: standard input (bytes).
            stdout: standard output (bytes).
            stderr: standard error (bytes).
            environ: the environment, in ``os.environ``'s order.
            argv: the arguments after the program name, as given.
        """
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.environ = dict(environ)
        self.argv = list(argv)
        #: Clients made for this run; ``main`` closes them when the command ends.
        self.clients: list[Client] = []

    def out(self, text: str | bytes) -> None:
        """Write ``text`` to standard output now."""
        _write(self.stdout, text)

    def err(self, text: str | bytes) -> None:
        """Write ``text`` to standard error now."""
        _write(self.stderr, text)


def _write(stream: BinaryIO, text: str | bytes) -> None:
    stream.write(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
    stream.flush()
