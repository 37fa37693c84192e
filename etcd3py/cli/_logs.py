"""The log lines etcdctl's libraries write on stderr: zap's JSON, as etcdctl's loggers format it.

etcdctl's own production logger (``pkg/flags``' warnings, ``endpoint health``'s and
``snapshot save``'s clients) writes ``ts`` as Unix seconds; clientv3's default logger
writes it as ISO 8601 local time. The one line every command may print is clientv3's retry
interceptor's warning for a failed unary call attempt (:func:`retry_warning`).
"""

from __future__ import annotations

import datetime
import random
import time
import traceback

from etcd3py.cli._console import Console
from etcd3py.errors import EtcdError

__all__ = ["deadline", "go_code", "retry_warning", "rpc_text", "zap_line", "zap_string"]


def zap_line(
    level: str, caller: str, msg: str, fields: dict[str, object], *, logger: str = ""
) -> str:
    """One line of zap's production JSON logger (``ts`` in Unix seconds, Go's shortest form)."""
    rest: dict[str, object] = {"logger": logger} if logger else {}
    rest.update({"caller": caller, "msg": msg, **fields})
    if level in ("error", "fatal"):
        rest["stacktrace"] = "".join(traceback.format_stack(limit=8)).rstrip("\n")
    return f'{{"level":"{level}","ts":{time.time()!r},{_fields(rest)}}}\n'


def zap_string(text: str) -> str:
    """A JSON string as zap's encoder writes it (no HTML escapes, unlike encoding/json)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _fields(fields: dict[str, object]) -> str:
    """zap's JSON of a line's fields (strings, ints and bools), without the braces."""
    parts = []
    for key, value in fields.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        else:
            text = zap_string(str(value))
        parts.append(f"{zap_string(key)}:{text}")
    return ",".join(parts)


def go_code(name: str) -> str:
    """A gRPC status code's name as grpc-go writes it, e.g. ``DeadlineExceeded``."""
    special = {"OK": "OK", "CANCELLED": "Canceled"}
    return special.get(name) or "".join(word.capitalize() for word in name.split("_"))


def deadline(exc: EtcdError) -> bool:
    """Whether the failure is the call's deadline (or timeout) running out."""
    return exc.code.name == "DEADLINE_EXCEEDED" or isinstance(exc, TimeoutError)


def rpc_text(exc: BaseException, dialed: str = "") -> str:
    """The raw gRPC status of a failure (``rpc error: code = NotFound desc = ...``).

    Args:
        exc: the failure.
        dialed: the endpoint the call went to, named (as grpc-go does) when the deadline
            ran out on a refused connection.
    """
    if not isinstance(exc, EtcdError):
        return str(exc)
    if deadline(exc) and not exc.details.startswith("etcdserver: "):
        if "onnection refused" in exc.details and dialed:
            return (
                "rpc error: code = DeadlineExceeded desc = latest balancer error: last "
                'connection error: connection error: desc = "transport: Error while dialing '
                f'dial tcp {_authority(dialed)}: connect: connection refused"'
            )
        return "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    details = exc.details
    if exc.code.name == "CANCELLED" and not details:
        details = "context canceled"
    return f"rpc error: code = {go_code(exc.code.name)} desc = {details}"


def _iso_now() -> str:
    """zap's ISO 8601 local time (Go layout ``2006-01-02T15:04:05.000Z0700``)."""
    now = datetime.datetime.now().astimezone()
    offset = now.strftime("%z")
    zone = "Z" if offset in ("+0000", "-0000", "") else offset
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}{zone}"


def _authority(endpoint: str) -> str:
    """The authority clientv3 dials for an endpoint (no scheme, no ``unix:`` prefix)."""
    if "://" in endpoint:
        return endpoint.split("://", 1)[1]
    for scheme in ("unixs:", "unix:"):
        if endpoint.startswith(scheme):
            return endpoint[len(scheme) :]
    return endpoint


def retry_warning(
    console: Console,
    endpoint: str,
    exc: BaseException | str,
    *,
    dialed: str = "",
    named: bool = False,
) -> None:
    """Write the line clientv3's retry interceptor logs for a failed unary call attempt.

    Args:
        console: where to write.
        endpoint: the first endpoint of the client that made the call.
        exc: the failure, or its raw gRPC status text.
        dialed: the endpoint the call went to (default: ``endpoint``).
        named: the client logs through etcdctl's production logger named ``client``
            (``endpoint health``, ``snapshot save``), not its default ``etcd-client`` one.
    """
    fields: dict[str, object] = {
        # a Go pointer in etcdctl's line; any address of the same form here
        "target": f"etcd-endpoints://0xc000{random.randrange(16**6):06x}/{_authority(endpoint)}",
        "attempt": 0,
        "error": exc if isinstance(exc, str) else rpc_text(exc, dialed or endpoint),
    }
    caller, msg = "v3/retry_interceptor.go:62", "retrying of unary invoker failed"
    if named:
        console.err(zap_line("warn", caller, msg, fields, logger="client"))
        return
    rest = {"logger": "etcd-client", "caller": caller, "msg": msg, **fields}
    console.err(f'{{"level":"warn","ts":"{_iso_now()}",{_fields(rest)}}}\n')
