"""Running a command as Go's ``os/exec`` runs it for ``etcdctl watch`` and ``etcdctl lock``.

The command is found as ``exec.LookPath`` finds it (a name without ``/`` is searched in
``$PATH``, an empty element meaning the current directory), started with stdin on
``/dev/null`` and etcdctl's own stdout and stderr, and waited for. :func:`run_command`
returns how it ended, and its failure in Go's words: ``exit status 3``, ``signal: killed``,
``exec: "x": executable file not found in $PATH``, ``fork/exec ./x: permission denied``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import stat
from collections.abc import Mapping, Sequence

from etcd3py.cli._console import Console
from etcd3py.cli._gofmt import quote

__all__ = ["Outcome", "run_command"]

# Go's names of the Linux signals (syscall.Signal.String), by number
_SIGNALS = (
    "",
    "hangup",
    "interrupt",
    "quit",
    "illegal instruction",
    "trace/breakpoint trap",
    "aborted",
    "bus error",
    "floating point exception",
    "killed",
    "user defined signal 1",
    "segmentation fault",
    "user defined signal 2",
    "broken pipe",
    "alarm clock",
    "terminated",
    "stack fault",
    "child exited",
    "continued",
    "stopped (signal)",
    "stopped",
    "stopped (tty input)",
    "stopped (tty output)",
    "urgent I/O condition",
    "CPU time limit exceeded",
    "file size limit exceeded",
    "virtual timer expired",
    "profiling timer expired",
    "window changed",
    "I/O possible",
    "power failure",
    "bad system call",
)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a command ended.

    Attributes:
        error: Go's text of the failure (``exit status 1``...), or None when it succeeded.
        exit_status: Go's ``WaitStatus.ExitStatus()``: the exit code, -1 when a signal
            killed it; None when it did not start.
    """

    error: str | None
    exit_status: int | None = None


def _signal_name(number: int) -> str:
    """Go's name of a signal (``killed``), or ``signal N``."""
    if 0 < number < len(_SIGNALS):
        return _SIGNALS[number]
    return f"signal {number}"


def _errno_text(exc: OSError) -> str:
    """An errno as Go's ``syscall.Errno.Error()`` words it (``no such file or directory``)."""
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return text[:1].lower() + text[1:]


_NOT_EXECUTABLE = PermissionError(13, "permission denied")  # Go's fs.ErrPermission


def _executable(path: str) -> OSError | None:
    """Go's findExecutable: None when ``path`` is a file with an execute bit."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return exc
    if not stat.S_ISDIR(mode) and mode & 0o111:
        return None
    return _NOT_EXECUTABLE


def look_path(name: str, path_var: str) -> tuple[str | None, str | None]:
    """Go's ``exec.LookPath``: the path to run, or the error text of ``cmd.Run``."""
    if "/" in name:
        problem = _executable(name)
        if problem is None:
            return name, None
        if problem is _NOT_EXECUTABLE:
            return None, f"exec: {quote(name)}: permission denied"
        return None, f"exec: {quote(name)}: stat {name}: {_errno_text(problem)}"
    for folder in path_var.split(os.pathsep):
        candidate = os.path.normpath(os.path.join(folder or ".", name))
        if _executable(candidate) is None:
            return candidate, None
    return None, f"exec: {quote(name)}: executable file not found in $PATH"


def _fileno(stream: object, default: int) -> int:
    """The descriptor of a stream, or ``default`` for one without (an in-memory buffer)."""
    try:
        return int(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return default


def run_command(console: Console, argv: Sequence[str], env: Mapping[str, str]) -> Outcome:
    """Run ``argv`` as Go's ``exec.Command(argv[0], argv[1:]...).Run()`` and wait for it.

    Args:
        console: whose stdout and stderr the command writes to.
        argv: the command and its arguments.
        env: the command's whole environment, in order.

    Returns:
        How it ended.
    """
    name = argv[0]
    path: str | None = name
    # Go looks the name up only when it is a bare file name (filepath.Base(name) == name)
    if name == "/" or (name and "/" not in name):
        path, error = look_path(name, console.environ.get("PATH", ""))
        if path is None:
            return Outcome(error)
    assert path is not None
    if not path:
        return Outcome(f"fork/exec {path}: no such file or directory")
    console.stdout.flush()
    console.stderr.flush()
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, _fileno(console.stdout, 1), 1),
        (os.POSIX_SPAWN_DUP2, _fileno(console.stderr, 2), 2),
    ]
    try:
        pid = os.posix_spawn(
            path,
            list(argv),
            dict(env),
            file_actions=actions,
            # Python ignores these two at start; a Go program does not
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
            setsigmask=(),
        )
    except OSError as exc:
        return Outcome(f"fork/exec {path}: {_errno_text(exc)}")
    except ValueError:  # a NUL byte in an argument: Go's syscall refuses it (EINVAL)
        return Outcome(f"fork/exec {path}: invalid argument")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        core = " (core dumped)" if os.WCOREDUMP(status) else ""
        return Outcome(f"signal: {_signal_name(os.WTERMSIG(status))}{core}", -1)
    code = os.waitstatus_to_exitcode(status)
    return Outcome(None if code == 0 else f"exit status {code}", code)
