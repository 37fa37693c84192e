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
    ],
)
def test_parse_endpoint(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text) == expected


def test_endpoint_address_brackets_ipv6() -> None:
    assert Endpoint("::1", 2379).address == "[::1]:2379"
    assert Endpoint("h", 1).address == "h:1"


@pytest.mark.parametrize("text", ["unix:///tmp/x", "host:port", "h:0", "h:70000", "h:1/path", ""])
def test_parse_endpoint_refuses_bad_forms(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_endpoint(text)


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
