"""Endpoint parsing and the settings dataclasses."""

from __future__ import annotations

import pytest

from etcd3py.config import (
    Config,
    Endpoint,
    KeepaliveConfig,
    RetryPolicy,
    TLSConfig,
    parse_endpoint,
    parse_endpoints,
)
from etcd3py.errors import ArgumentTypeError, InvalidArgumentError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:2379", Endpoint("127.0.0.1", 2379, None)),
        ("http://10.0.0.1:22379", Endpoint("10.0.0.1", 22379, False)),
        ("https://etcd.example:2379/", Endpoint("etcd.example", 2379, True)),
        ("localhost", Endpoint("localhost", 2379, None)),
        ("[::1]:2379", Endpoint("::1", 2379, None)),
        ("https://[::1]:3000", Endpoint("::1", 3000, True)),
        ("unix:///tmp/etcd.sock", Endpoint("", 0, False, path="/tmp/etcd.sock")),
        ("unix://localhost:2379", Endpoint("", 0, False, path="localhost:2379")),
        ("unixs:///run/etcd.sock", Endpoint("", 0, True, path="/run/etcd.sock")),
    ],
)
def test_parse_endpoint(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text) == expected


def test_endpoint_address_brackets_ipv6() -> None:
    assert Endpoint("::1", 2379).address == "[::1]:2379"
    assert Endpoint("h", 1).address == "h:1"


@pytest.mark.parametrize(
    "text", ["ftp://h:1", "host:port", "h:0", "h:70000", "h:-1", "h:1/path", "", "unix://"]
)
def test_parse_endpoint_refuses_bad_forms(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_endpoint(text)


@pytest.mark.parametrize(("text", "port"), [("h:0", "0"), ("h:70000", "70000"), ("h:x1", "x1")])
def test_a_bad_port_is_named_with_its_endpoint(text: str, port: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"bad port '{port}' in endpoint '{text}'"):
        parse_endpoint(text)
    with pytest.raises(InvalidArgumentError, match="1-65535"):
        parse_endpoints(f"127.0.0.1:2379,{text}")


def test_a_comma_separated_string_is_several_endpoints() -> None:
    assert parse_endpoints("10.0.0.1:2379,10.0.0.2:2379, 10.0.0.3") == (
        Endpoint("10.0.0.1", 2379),
        Endpoint("10.0.0.2", 2379),
        Endpoint("10.0.0.3", 2379),
    )
    assert parse_endpoints(["h1:1,h2:2", "h3:3"]) == (
        Endpoint("h1", 1),
        Endpoint("h2", 2),
        Endpoint("h3", 3),
    )
    with pytest.raises(InvalidArgumentError, match="at least one"):
        parse_endpoints(" , ")


def test_a_unix_socket_must_be_the_only_endpoint() -> None:
    with pytest.raises(InvalidArgumentError, match="only endpoint"):
        parse_endpoints("unix:///a.sock,127.0.0.1:2379")
    with pytest.raises(InvalidArgumentError, match="mix"):
        parse_endpoints(["unixs:///a.sock", "http://127.0.0.1:2379"])
    assert Endpoint("", 0, True, path="/a.sock").address == "unixs:///a.sock"


def test_default_timeout_is_checked() -> None:
    with pytest.raises(InvalidArgumentError):
        Config(endpoints=(Endpoint("h", 1),), default_timeout=0)
    with pytest.raises(ArgumentTypeError):
        Config(endpoints=(Endpoint("h", 1),), default_timeout="1")  # type: ignore[arg-type]


def test_parse_endpoint_refuses_non_str() -> None:
    with pytest.raises(ArgumentTypeError):
        parse_endpoint(2379)  # type: ignore[arg-type]


def test_parse_endpoints_single_string_and_mixed_schemes() -> None:
    assert parse_endpoints("a:1") == (Endpoint("a", 1),)
    with pytest.raises(InvalidArgumentError, match="mix"):
        parse_endpoints(["http://a:1", "https://b:2"])
    with pytest.raises(InvalidArgumentError):
        parse_endpoints([])


def test_config_secure_from_https_or_tls() -> None:
    plain = Config(endpoints=parse_endpoints("a:1"))
    assert not plain.secure
    assert Config(endpoints=parse_endpoints("https://a:1")).secure
    assert Config(endpoints=parse_endpoints("a:1"), tls=TLSConfig()).secure
    assert plain.max_call_send_msg_size == 2 * 1024 * 1024
    assert plain.max_call_recv_msg_size == 2**31 - 1


def test_config_refuses_half_credentials_and_unknown_lb() -> None:
    eps = parse_endpoints("a:1")
    with pytest.raises(InvalidArgumentError):
        Config(endpoints=eps, username="u")
    with pytest.raises(InvalidArgumentError):
        Config(endpoints=eps, lb_policy="random")  # type: ignore[arg-type]
    assert "secret" not in repr(Config(endpoints=eps, username="u", password="secret"))


def test_tls_config_reads_paths_and_keeps_bytes(tmp_path: object) -> None:
    import pathlib

    assert isinstance(tmp_path, pathlib.Path)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"CA PEM")
    tls = TLSConfig(ca=str(ca), cert=b"CERT", key=b"KEY")
    assert tls.load() == (b"CA PEM", b"KEY", b"CERT")
    with pytest.raises(InvalidArgumentError):
        TLSConfig(cert=b"only cert")


def test_defaults_are_frozen() -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        KeepaliveConfig().time = 1.0  # type: ignore[misc]
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(max_attempts=0)
