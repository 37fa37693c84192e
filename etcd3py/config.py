"""Client settings as frozen dataclasses, and the parsing of endpoints.

Owns :class:`Config` and its parts (:class:`TLSConfig`, :class:`KeepaliveConfig`,
:class:`RetryPolicy`) with clientv3's defaults, and :func:`parse_endpoint` for the
``host:port``, ``http://host:port`` and ``https://host:port`` forms etcdctl accepts. No I/O
except :meth:`TLSConfig.load`, which reads the PEM files it names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from etcd3py.errors import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "Config",
    "Endpoint",
    "KeepaliveConfig",
    "RetryPolicy",
    "TLSConfig",
    "check_interval",
    "parse_endpoint",
    "parse_endpoints",
]

#: clientv3's ``defaultMaxCallSendMsgSize``: 2 MiB.
DEFAULT_MAX_CALL_SEND_MSG_SIZE = 2 * 1024 * 1024
#: clientv3's ``defaultMaxCallRecvMsgSize``: ``math.MaxInt32``.
DEFAULT_MAX_CALL_RECV_MSG_SIZE = 2**31 - 1

PemSource = str | os.PathLike[str] | bytes


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """TLS (and mutual TLS) settings; each PEM item is a file path or the PEM bytes.

    Attributes:
        ca: the CA certificates to trust; ``None`` trusts the system roots.
        cert: the client certificate, for mutual TLS.
        key: the client certificate's private key, for mutual TLS.
        server_name: the name expected in the server certificate (default: the endpoint host).
    """

    ca: PemSource | None = None
    cert: PemSource | None = None
    key: PemSource | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise InvalidArgumentError("TLSConfig needs both cert and key, or neither")

    def load(self) -> tuple[bytes | None, bytes | None, bytes | None]:
        """Return the (ca, key, cert) PEM bytes, reading the items given as paths.

        Returns:
            The PEM contents, ``None`` for items not set.

        Raises:
            OSError: a named file cannot be read.
        """
        return _pem(self.ca), _pem(self.key), _pem(self.cert)


def _pem(source: PemSource | None) -> bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


@dataclass(frozen=True, slots=True)
class KeepaliveConfig:
    """HTTP/2 keepalive pings on the client's connections.

    etcd refuses pings more frequent than ``--grpc-keepalive-min-time`` (5 s by default) and
    pings without an open call, so keep ``time >= 5`` and ``permit_without_calls=False``
    unless the server is configured otherwise.

    Attributes:
        time: seconds between pings on an idle connection; ``None`` disables pings.
        timeout: seconds to wait for a ping's answer before the connection is closed.
        permit_without_calls: ping even when no call is open.
    """

    time: float | None = 30.0
    timeout: float = 10.0
    permit_without_calls: bool = False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How calls are retried (clientv3 ``retry.go``; which calls may be is in ``_retry``).

    Attributes:
        max_attempts: the most attempts per call, the first included (1 disables retries);
            100 as clientv3's ``defaultUnaryMaxRetries``, so that in practice the call's
            ``timeout=`` (or ``max_elapsed``) is what bounds the retries.
        initial_backoff: seconds to wait before the first retry; doubled each retry.
        max_backoff: the longest wait between two attempts, in seconds.
        jitter: at most this many seconds of random delay added to each wait.
        max_elapsed: the longest a call with no ``timeout=`` keeps retrying, in seconds.
    """

    max_attempts: int = 100
    initial_backoff: float = 0.025
    max_backoff: float = 1.0
    jitter: float = 0.1
    max_elapsed: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidArgumentError("RetryPolicy.max_attempts must be at least 1")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One etcd client URL, parsed.

    Attributes:
        host: the host name or IP address (IPv6 without brackets); empty for a unix socket.
        port: the port (0 for a unix socket).
        secure: ``True`` for ``https://``/``unixs://``, ``False`` for ``http://``/``unix://``,
            ``None`` with no scheme.
        path: the socket's path for ``unix://``/``unixs://`` (relative to the working
            directory unless it starts with ``/``, as etcd and etcdctl take it), else ``None``.
    """

    host: str
    port: int
    secure: bool | None = None
    path: str | None = None

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 hosts in brackets), or ``unix://path`` for a unix socket."""
        if self.path is not None:
            return f"{'unixs' if self.secure else 'unix'}://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def check_interval(name: str, value: object) -> None:
    """Refuse an optional interval that is not ``None`` or a positive number of seconds.

    Args:
        name: the argument's name, for the message.
        value: the argument.

    Raises:
        ArgumentTypeError: not a number.
        InvalidArgumentError: zero, negative or NaN.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not value > 0:
        raise InvalidArgumentError(f"{name} must be positive, got {value}")


_SCHEMES = {"http": False, "https": True, "unix": False, "unixs": True}


def parse_endpoint(text: str) -> Endpoint:
    """Parse one endpoint as etcdctl takes it (port default 2379).

    Forms: ``host:port``, ``http://host:port``, ``https://host:port`` (IPv6 hosts in
    brackets), and ``unix://path`` / ``unixs://path`` for a member listening on a unix
    socket (etcd's ``--listen-client-urls unix://localhost:2379`` makes a socket file named
    ``localhost:2379`` in its working directory; ``unix:///abs/path`` names it absolutely).

    Args:
        text: the endpoint.

    Returns:
        The parsed endpoint.

    Raises:
        ArgumentTypeError: ``text`` is not a ``str``.
        InvalidArgumentError: an unknown scheme, a path after ``host:port``, or a port that is
            not a number in 1-65535; the message names the endpoint.
    """
    if not isinstance(text, str):
        raise ArgumentTypeError(f"an endpoint must be a str, not {type(text).__name__}")
    rest, secure = text.strip(), None
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme.lower() not in _SCHEMES:
            raise InvalidArgumentError(f"unsupported endpoint scheme {scheme!r} in {text!r}")
        secure = _SCHEMES[scheme.lower()]
        if scheme.lower().startswith("unix"):
            if not rest:
                raise InvalidArgumentError(f"bad endpoint {text!r}: no socket path")
            return Endpoint("", 0, secure, path=rest)
    rest = rest.rstrip("/")
    if "/" in rest or not rest:
        raise InvalidArgumentError(f"bad endpoint {text!r}: expected host:port")
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    else:
        host, port_text = rest, ""
    if not host:
        raise InvalidArgumentError(f"bad endpoint {text!r}: expected host:port")
    if not port_text:
        return Endpoint(host, 2379, secure)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidArgumentError(
            f"bad port {port_text!r} in endpoint {text!r}: expected a number in 1-65535"
        )
    return Endpoint(host, int(port_text), secure)


def parse_endpoints(endpoints: str | list[str] | tuple[str, ...]) -> tuple[Endpoint, ...]:
    """Parse one endpoint, a comma-separated string of them, or a list.

    A string is split on commas as etcdctl's ``--endpoints`` is
    (``"10.0.0.1:2379,10.0.0.2:2379"``); so is each item of a list. All endpoints must
    agree on TLS when a scheme is given, and a unix socket endpoint must be the only one
    (one gRPC channel cannot mix a socket path with TCP addresses, nor hold two paths).

    Args:
        endpoints: a single endpoint string, a comma-separated string, or a sequence.

    Returns:
        The parsed endpoints, in order.

    Raises:
        ArgumentTypeError: not a ``str`` or a sequence of ``str``.
        InvalidArgumentError: no endpoint, a bad one, ``http://`` mixed with ``https://``, or
            a unix socket beside another endpoint.
    """
    if isinstance(endpoints, (bytes, bytearray)) or not isinstance(endpoints, (str, list, tuple)):
        raise ArgumentTypeError(
            f"endpoints must be a str or a list of str, not {type(endpoints).__name__}"
        )
    items = [endpoints] if isinstance(endpoints, str) else list(endpoints)
    texts = [
        part.strip()
        for item in items
        for part in (item.split(",") if isinstance(item, str) else [item])
    ]
    texts = [t for t in texts if not isinstance(t, str) or t]
    if not texts:
        raise InvalidArgumentError("at least one endpoint is required")
    parsed = tuple(parse_endpoint(text) for text in texts)
    schemes = {e.secure for e in parsed if e.secure is not None}
    if len(schemes) > 1:
        raise InvalidArgumentError("endpoints mix plain (http://, unix://) and TLS ones")
    if len(parsed) > 1 and any(e.path is not None for e in parsed):
        raise InvalidArgumentError(
            "a unix socket endpoint must be the only endpoint, got "
            + ", ".join(e.address for e in parsed)
        )
    return parsed


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a :class:`~etcd3py.Client` is built from.

    Attributes:
        endpoints: where the cluster answers.
        dial_timeout: seconds to wait at construction for a first connection (``None``: don't).
        tls: TLS settings; ``None`` means plain text unless an endpoint says ``https://``.
        username: the user to authenticate as (with ``password``).
        password: the user's password.
        keepalive: keepalive ping settings.
        retry: the retry policy.
        max_call_send_msg_size: the largest request sent, in bytes (larger: refused by gRPC).
        max_call_recv_msg_size: the largest response accepted, in bytes.
        lb_policy: ``"round_robin"`` over every endpoint, or ``"pick_first"`` with failover.
        default_timeout: seconds that bound every unary call given no ``timeout=`` (its
            retries included); ``None``: only the retry policy's ``max_elapsed`` bounds
            the retries of such a call.
    """

    endpoints: tuple[Endpoint, ...]
    dial_timeout: float | None = 3.0
    tls: TLSConfig | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    keepalive: KeepaliveConfig = KeepaliveConfig()
    retry: RetryPolicy = RetryPolicy()
    max_call_send_msg_size: int = DEFAULT_MAX_CALL_SEND_MSG_SIZE
    max_call_recv_msg_size: int = DEFAULT_MAX_CALL_RECV_MSG_SIZE
    lb_policy: Literal["round_robin", "pick_first"] = "round_robin"
    default_timeout: float | None = None

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise InvalidArgumentError("username and password go together")
        if self.lb_policy not in ("round_robin", "pick_first"):
            raise InvalidArgumentError(f"unknown lb_policy {self.lb_policy!r}")
        check_interval("default_timeout", self.default_timeout)

    @property
    def secure(self) -> bool:
        """Whether connections use TLS (``tls`` set, or an ``https://`` endpoint)."""
        return self.tls is not None or any(e.secure for e in self.endpoints)
