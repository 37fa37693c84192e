"""A failed call as etcdctl reports it: clientv3's retry warning on stderr, then ``Error: <err>``.

etcdctl prints an error as clientv3 words it: etcd's own description
(``etcdserver: key not found``), the context's error for a deadline or a cancel, or the raw
gRPC status for anything else, after the retry interceptor's warning line
(:func:`etcd3py.cli._logs.retry_warning`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from etcd3py.cli._command import Invocation
from etcd3py.cli._config import settings
from etcd3py.cli._console import ERROR, Exit, fail
from etcd3py.cli._logs import deadline, retry_warning, rpc_text
from etcd3py.errors import EtcdError

__all__ = ["call", "failed", "go_error", "warn"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def go_error(exc: BaseException) -> str:
    """The text clientv3 gives a failure (``err.Error()``), as etcdctl prints it.

    etcd's own errors print their description (``etcdserver: key not found``); a deadline
    or cancel of the call prints the context's error; any other gRPC failure prints the raw
    status (``rpc error: code = Unavailable desc = ...``).
    """
    if not isinstance(exc, EtcdError):
        return str(exc)
    details = exc.details
    if details.startswith("etcdserver: ") or type(exc).etcd_message == details:
        return details
    if deadline(exc):
        return "context deadline exceeded"
    if exc.code.name == "CANCELLED":
        return "context canceled"
    return rpc_text(exc)


def failed(inv: Invocation, exc: BaseException, code: int = ERROR) -> Exit:
    """Log a failed call (:func:`retry_warning`); return the command's exit; raise it.

    Args:
        inv: the invocation (its console and first endpoint).
        exc: the client's failure.
        code: the exit code etcdctl gives this command's failure.
    """
    warn(inv, exc)
    return fail(code, go_error(exc))


def warn(inv: Invocation, exc: BaseException) -> None:
    """Log a failed call of the invocation's client (clientv3's retry warning), nothing more."""
    endpoints = settings(inv).endpoints
    retry_warning(inv.console, endpoints[0] if endpoints else "", exc)


def call(inv: Invocation, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Make one client call; a failure is logged and ends the command (``Error: <err>``, 1).

    Raises:
        Exit: the call failed.
    """
    try:
        return fn(*args, **kwargs)
    except EtcdError as exc:
        raise failed(inv, exc) from None
