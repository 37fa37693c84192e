"""An etcdctl-compatible command line: ``python -m etcd3py`` (or ``etcd3py-ctl``).

It reproduces etcdctl 3.5.1: the same commands, flags, ``ETCDCTL_*`` variables, output
formats (``-w simple|json|fields|table|protobuf``), messages and exit codes, byte for
byte, on etcd3py's client. :func:`main` runs one command line and returns its exit code.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import BinaryIO, NoReturn

from etcd3py.cli import _command, _console, _root

__all__ = ["main", "run"]


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run one etcdctl command line and return its exit code.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).
        stdin: standard input, in bytes (default: the process's).
        stdout: standard output, in bytes (default: the process's).
        stderr: standard error, in bytes (default: the process's).
        environ: the environment (default: ``os.environ``); ``ETCDCTL_API`` must be
            unset, empty or ``3``.

    Returns:
        etcdctl's exit code for the run (0 on success).
    """
    env = dict(os.environ if environ is None else environ)
    err = stderr or sys.stderr.buffer
    api = env.pop("ETCDCTL_API", "")
    if api not in ("", "3"):
        err.write(f"unsupported API version: {api}\n".encode())
        err.flush()
        return _console.ERROR
    console = _console.Console(
        stdin or sys.stdin.buffer,
        stdout or sys.stdout.buffer,
        err,
        env,
        sys.argv[1:] if argv is None else argv,
    )
    try:
        _command.execute(_root.build(), console)
    except _console.Exit as exc:
        if exc.message is not None:
            console.err(f"Error: {exc.message}\n")
        return exc.code
    except _console.GoPanic as exc:
        signal = f"[signal {exc.signal}]\n" if exc.signal else ""
        console.err(f"panic: {exc}\n{signal}\ngoroutine 1 [running]:\n")
        return 2
    finally:
        for client in console.clients:
            client.close()
    return 0


def run() -> NoReturn:
    """The console script: signals as a Go program has them, then :func:`main`, then exit."""
    # etcdctl installs no handler: Ctrl-C, SIGTERM and a closed pipe end it at once
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
