"""Global flags, ``ETCDCTL_*`` variables, and the client they make (etcdctl's clientConfigFromCmd).

Global flags are read lazily, when a command first needs a client, in etcdctl's order:
environment variables applied (with its warnings and fatal conflicts), ``--debug``'s dump,
endpoints, timeouts, TLS files, credentials (prompting when the password is missing) and
the output format. So a command's own argument errors come first, as in etcdctl.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
from collections.abc import Sequence
from pathlib import Path

import etcd3py
from etcd3py.cli._command import Invocation
from etcd3py.cli._console import BAD_ARGS, BAD_CONNECTION, BAD_FEATURE, ERROR, Console, Exit, fail
from etcd3py.cli._flags import Flag, FlagError, FlagSet
from etcd3py.cli._logs import retry_warning, zap_line
from etcd3py.config import KeepaliveConfig, TLSConfig
from etcd3py.errors import AuthFailedError, AuthNotEnabledError, EtcdError, InvalidArgumentError

__all__ = [
    "Settings",
    "apply_environment",
    "ask_password",
    "client",
    "credentials",
    "endpoints_flag",
    "environ_without_api",
    "global_flags",
    "inherited",
    "seconds",
    "settings",
    "tls_config",
]

WRITERS = ("fields", "json", "protobuf", "simple", "table")
_MIN_KEEPALIVE_TIME = 10.0  # seconds: grpc-go's floor for a client's keepalive time
_NS = 1_000_000_000


def global_flags() -> list[Flag]:
    """etcdctl's global (persistent) flags, with its defaults and help texts."""
    s = _NS
    return [
        Flag("endpoints", "stringSlice", ["127.0.0.1:2379"], "gRPC endpoints"),
        Flag("debug", "bool", False, "enable client-side debug logging"),
        Flag(
            "write-out",
            "string",
            "simple",
            "set the output format (fields, json, protobuf, simple, table)",
            shorthand="w",
        ),
        Flag("hex", "bool", False, "print byte strings as hex encoded strings"),
        Flag("dial-timeout", "duration", 2 * s, "dial timeout for client connections"),
        Flag(
            "command-timeout",
            "duration",
            5 * s,
            "timeout for short running command (excluding dial timeout)",
        ),
        Flag("keepalive-time", "duration", 2 * s, "keepalive time for client connections"),
        Flag("keepalive-timeout", "duration", 6 * s, "keepalive timeout for client connections"),
        Flag(
            "insecure-transport", "bool", True, "disable transport security for client connections"
        ),
        Flag(
            "insecure-discovery",
            "bool",
            True,
            "accept insecure SRV records describing cluster endpoints",
        ),
        Flag(
            "insecure-skip-tls-verify",
            "bool",
            False,
            "skip server certificate verification "
            "(CAUTION: this option should be enabled only for testing purposes)",
        ),
        Flag("cert", "string", "", "identify secure client using this TLS certificate file"),
        Flag("key", "string", "", "identify secure client using this TLS key file"),
        Flag(
            "cacert",
            "string",
            "",
            "verify certificates of TLS-enabled secure servers using this CA bundle",
        ),
        Flag(
            "user",
            "string",
            "",
            "username[:password] for authentication (prompt if password is not supplied)",
        ),
        Flag(
            "password",
            "string",
            "",
            "password for authentication (if this option is used, --user option shouldn't include "
            "password)",
        ),
        Flag(
            "discovery-srv",
            "string",
            "",
            "domain name to query for SRV records describing cluster endpoints",
            shorthand="d",
        ),
        Flag("discovery-srv-name", "string", "", "service name to query when using DNS discovery"),
    ]


def _env_name(flag: str) -> str:
    return "ETCDCTL_" + flag.upper().replace("-", "_")


def apply_environment(console: Console, flags: Sequence[Flag]) -> None:
    """Set unset ``flags`` from ``ETCDCTL_*`` variables, as pkg/flags.SetPflagsFromEnv.

    Raises:
        Exit: a variable shadows a flag given on the command line (zap's fatal line).
    """
    already = {_env_name(f.name) for f in flags if f.changed}
    used: set[str] = set()
    for flag in sorted(flags, key=lambda f: f.name):
        key = _env_name(flag.name)
        value = console.environ.get(key, "")
        if key not in already and value:
            used.add(key)
            with contextlib.suppress(FlagError):  # etcdctl ignores a bad value here
                flag.set(value)
    for key, value in console.environ.items():
        if key in used:
            continue
        if key in already:
            console.err(
                zap_line(
                    "fatal",
                    "flags/flag.go:85",
                    "conflicting environment variable is shadowed by corresponding command-line "
                    "flag (either unset environment variable or disable flag))",
                    {"environment-variable": key},
                )
            )
            raise Exit(ERROR)
        if key.startswith("ETCDCTL_"):
            console.err(
                zap_line(
                    "warn",
                    "flags/flag.go:93",
                    "unrecognized environment variable",
                    {"environment-variable": f"{key}={value}"},
                )
            )


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the global flags and variables say, once read."""

    endpoints: list[str]
    dial_timeout: float
    keepalive_time: float
    keepalive_timeout: float
    tls: TLSConfig | None
    username: str | None
    password: str | None
    write_out: str
    hex: bool


# etcdctl registers these for watch only so that their variables count as known; they hold
# no value (``--debug`` shows them empty) and watch reads the variables itself.
_WATCH_VARIABLES = ("watch-key", "watch-range-end")


def inherited(inv: Invocation) -> list[Flag]:
    """The flags the environment may set for this command (its inherited ones)."""
    flags = inv.command.inherited_flags()
    if inv.command.use.startswith("watch"):
        flags = [*flags, *(Flag(name, "string", "", name) for name in _WATCH_VARIABLES)]
    return [inv.flags.get(f.name, f) for f in flags]


def settings(inv: Invocation) -> Settings:
    """Read the global flags (applying the environment first); once per invocation.

    Raises:
        Exit: a fatal environment conflict, an empty TLS option (128), or an unknown
            output format (4).
    """
    cached = inv.cache.get("settings")
    if isinstance(cached, Settings):
        return cached
    console = inv.console
    flags = inherited(inv)
    apply_environment(console, flags)
    if inv.bool("debug"):
        for flag in sorted(flags, key=lambda f: f.name):
            value = "" if flag.name in _WATCH_VARIABLES else flag.text()
            console.err(f"{_env_name(flag.name)}={value}\n")
    endpoints = [e.strip() for e in endpoints_flag(inv)]
    tls = tls_config(inv.flags)
    username, password = credentials(inv)
    write_out = inv.str("write-out")
    if write_out not in WRITERS:
        raise fail(BAD_FEATURE, "unsupported output format")
    result = Settings(
        endpoints=endpoints,
        dial_timeout=inv.int("dial-timeout") / _NS,
        keepalive_time=inv.int("keepalive-time") / _NS,
        keepalive_timeout=inv.int("keepalive-timeout") / _NS,
        tls=tls,
        username=username,
        password=password,
        write_out=write_out,
        hex=inv.bool("hex"),
    )
    inv.cache["settings"] = result
    return result


def endpoints_flag(inv: Invocation) -> list[str]:
    """``--endpoints`` as given (DNS SRV discovery is refused).

    Raises:
        Exit: ``--discovery-srv`` was given.
    """
    if inv.str("discovery-srv"):
        raise fail(ERROR, "DNS SRV discovery (--discovery-srv) is not supported by etcd3py")
    value = inv.value("endpoints")
    assert isinstance(value, list)
    return [str(e) for e in value]


def tls_config(flags: FlagSet) -> TLSConfig | None:
    """The TLS settings the flags name, files read (None: plain text).

    Raises:
        Exit: an empty TLS option, a cert without its key, or an unreadable file (128).
    """
    names = {}
    for name in ("cert", "key", "cacert"):
        value = str(flags[name].value)
        if value == "" and flags[name].changed:
            raise fail(BAD_ARGS, f"empty string is passed to --{name} option")
        names[name] = value
    if not flags["insecure-transport"].value and not any(names.values()):
        return TLSConfig()
    if not any(names.values()):
        return None
    if bool(names["cert"]) != bool(names["key"]):
        raise fail(
            BAD_ARGS,
            f"KeyFile and CertFile must both be present[key: {names['key']}, "
            f"cert: {names['cert']}]",
        )
    pems: dict[str, bytes | None] = {}
    for name in ("cert", "key", "cacert"):
        path = names[name]
        if not path:
            pems[name] = None
            continue
        try:
            pems[name] = Path(path).read_bytes()
        except OSError as exc:
            raise fail(BAD_ARGS, f"open {path}: {_os_error(exc)}") from None
    if flags["insecure-skip-tls-verify"].value:
        raise fail(BAD_ARGS, "--insecure-skip-tls-verify is not supported by etcd3py")
    return TLSConfig(ca=pems["cacert"], cert=pems["cert"], key=pems["key"])


def _os_error(exc: OSError) -> str:
    """An OS error as Go words it (``no such file or directory``)."""
    return (exc.strerror or str(exc)).lower()


def credentials(inv: Invocation) -> tuple[str | None, str | None]:
    """The user and password ``--user``/``--password`` give (prompting for a missing one)."""
    user, password = inv.str("user"), inv.str("password")
    if not user:
        return None, None
    if password:
        return user, password
    if ":" in user:
        name, _, password = user.partition(":")
        return name, password
    return user, ask_password(inv.console, "Password: ")


def ask_password(console: Console, prompt: str) -> str:
    """Prompt on stdout and read one line from stdin with echo off (bgentry/speakeasy)."""
    console.out(prompt)
    _stty(console, "-echo")
    try:
        line = bytearray()
        while True:
            try:
                char = console.stdin.read(1)
            except OSError as exc:
                raise fail(ERROR, f"failed during password entry: {exc}") from None
            if not char or char == b"\n":  # the end of input ends the answer too
                break
            line += char
    finally:
        _stty(console, "echo")
        console.out("\n")
    return line.rstrip(b"\r").decode("utf-8", "surrogateescape").strip()


def _stty(console: Console, mode: str) -> None:
    """Run ``stty`` on the inherited stdin, as speakeasy does (its complaints included)."""
    try:
        fileno = console.stdin.fileno()
    except (OSError, ValueError, AttributeError):
        return
    console.stderr.flush()
    subprocess.run(["stty", mode], stdin=fileno, stderr=console.stderr.fileno(), check=False)


def client(
    inv: Invocation, endpoints: Sequence[str] | None = None, *, named: bool = False
) -> etcd3py.Client:
    """A client for the invocation (etcdctl's mustClientFromCmd); ``main`` closes it.

    ``named``: the client logs through etcdctl's production logger named ``client``
    (``endpoint health``, ``snapshot save``), not clientv3's default one.

    Raises:
        Exit: no endpoints, failed authentication or TLS files (etcdctl's codes).
    """
    conf = settings(inv)
    eps = list(conf.endpoints if endpoints is None else endpoints)
    if not eps:
        raise fail(BAD_CONNECTION, "etcdclient: no available endpoints")
    auth = conf.username is not None and bool(conf.password)
    if auth:
        auth = _authenticates(inv, conf, eps, named=named)
    try:
        made = etcd3py.Client(
            eps,
            dial_timeout=conf.dial_timeout if auth else None,
            tls=conf.tls,
            username=conf.username if auth else None,
            password=conf.password if auth else None,
            # grpc-go raises a keepalive time under 10 s to 10 s; etcd answers more frequent
            # pings with GOAWAY "too_many_pings", so gRPC Python must not send them either
            keepalive=KeepaliveConfig(
                time=max(conf.keepalive_time, _MIN_KEEPALIVE_TIME),
                timeout=conf.keepalive_timeout,
            ),
        )
    except InvalidArgumentError as exc:
        raise fail(BAD_ARGS, exc.details) from None
    except EtcdError:
        raise fail(BAD_CONNECTION, "context deadline exceeded") from None
    inv.console.clients.append(made)
    return made


def _authenticates(inv: Invocation, conf: Settings, endpoints: list[str], *, named: bool) -> bool:
    """Authenticate as clientv3.New does; False when the server has auth disabled.

    clientv3 logs a refused Authenticate like any failed call, and goes on without a token
    when auth is not enabled; etcd3py's client says nothing there, so the command line asks
    first, through a client of its own.

    Raises:
        Exit: wrong credentials, or no server answered within the dial timeout (exit 2).
    """
    assert conf.username is not None and conf.password is not None
    try:
        probe = etcd3py.Client(endpoints, dial_timeout=None, tls=conf.tls)
    except InvalidArgumentError as exc:
        raise fail(BAD_ARGS, exc.details) from None
    try:
        probe.authenticate(conf.username, conf.password, timeout=conf.dial_timeout)
    except AuthNotEnabledError as exc:
        retry_warning(inv.console, endpoints[0], exc, named=named)
        return False
    except AuthFailedError as exc:
        retry_warning(inv.console, endpoints[0], exc, named=named)
        raise fail(BAD_CONNECTION, exc.details) from None
    except EtcdError:
        raise fail(BAD_CONNECTION, "context deadline exceeded") from None
    finally:
        probe.close()
    return True


def seconds(ns: int) -> float:
    """Nanoseconds (a duration flag's value) as seconds."""
    return ns / _NS


def environ_without_api(console: Console) -> dict[str, str]:
    """The environment child processes get (etcdctl has unset ``ETCDCTL_API``)."""
    env = dict(console.environ)
    env.pop("ETCDCTL_API", None)
    return env
