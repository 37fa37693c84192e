"""TLS and mutual TLS against a private etcd 3.5 serving https, with trustme certificates.

Each test module fixture starts its own etcd (the shared backends speak plain text) with
``--cert-file``/``--key-file`` and, for mutual TLS, ``--client-cert-auth`` and
``--trusted-ca-file``. Besides its https client URL every member also listens on a plain
http port, used only to wait until it serves (so even a member with an expired certificate
can be waited for). Failures must be typed etcd3py errors within ``dial_timeout``.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from etcd3py import Client, TLSConfig
from etcd3py.errors import EtcdError, UnavailableError
from tests.backends import BackendUnavailable, EtcdProcess, distro_binary, free_ports

pytestmark = pytest.mark.both_faces

NewClient = Callable[..., Client]

DIAL_TIMEOUT = 2.0
# the dial must fail within dial_timeout plus scheduling slack on a loaded 2-core machine
FAIL_BUDGET = DIAL_TIMEOUT + 3.0


class TLSEtcd(EtcdProcess):
    """An etcd member serving clients on https (and on plain http, to wait for it).

    Args:
        server_cert: the certificate (and key) the member presents to clients.
        client_ca: the CA whose client certificates are required; ``None`` for no mTLS.
        binary: the etcd executable.
        ports: free ports for the plain http clients, the peers and the https clients.
    """

    def __init__(
        self,
        server_cert: trustme.LeafCert,
        client_ca: trustme.CA | None,
        *,
        binary: Path,
        ports: list[int],
    ) -> None:
        super().__init__(binary, client_port=ports[0], peer_port=ports[1])
        https_port = ports[2]
        self.https_endpoint = f"127.0.0.1:{https_port}"
        self.cert_path = self.root / "server.pem"
        self.key_path = self.root / "server-key.pem"
        server_cert.cert_chain_pems[0].write_to_path(str(self.cert_path))
        server_cert.private_key_pem.write_to_path(str(self.key_path))
        self.client_ca_path: Path | None = None
        if client_ca is not None:
            self.client_ca_path = self.root / "client-ca.pem"
            client_ca.cert_pem.write_to_path(str(self.client_ca_path))

    def args(self) -> list[str]:
        """Return the command line: the base one with https client URLs and TLS flags."""
        urls = f"http://{self.endpoint},https://{self.https_endpoint}"
        args = [
            a
            for a in super().args()
            if not a.startswith(("--listen-client-urls=", "--advertise-client-urls="))
        ]
        args += [
            f"--listen-client-urls={urls}",
            f"--advertise-client-urls=https://{self.https_endpoint}",
            f"--cert-file={self.cert_path}",
            f"--key-file={self.key_path}",
        ]
        if self.client_ca_path is not None:
            args += ["--client-cert-auth", f"--trusted-ca-file={self.client_ca_path}"]
        return args


def _start(server_cert: trustme.LeafCert, client_ca: trustme.CA | None = None) -> TLSEtcd:
    try:
        binary = distro_binary("etcd")
    except BackendUnavailable as exc:
        pytest.skip(f"etcd 3.5 unavailable: {exc}")
    member = TLSEtcd(server_cert, client_ca, binary=binary, ports=free_ports(3))
    try:
        member.start()
        member.wait_serving()
    except BackendUnavailable:
        member.remove()
        raise
    return member


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """The CA that signs the server and client certificates."""
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> Iterator[TLSEtcd]:
    """An etcd with server TLS only (any client may connect)."""
    member = _start(ca.issue_cert("127.0.0.1", "localhost"))
    try:
        yield member
    finally:
        member.remove()


@pytest.fixture(scope="module")
def mutual_tls(ca: trustme.CA) -> Iterator[TLSEtcd]:
    """An etcd that requires a client certificate signed by ``ca``."""
    member = _start(ca.issue_cert("127.0.0.1", "localhost"), client_ca=ca)
    try:
        yield member
    finally:
        member.remove()


def _roundtrip(client: Client) -> None:
    key = f"/t/tls-{uuid.uuid4().hex[:8]}"
    client.put(key, b"secret", timeout=10)
    kvs = client.get(key, timeout=10).kvs
    assert [(kv.key, kv.value) for kv in kvs] == [(key.encode(), b"secret")]


def _expect_dial_failure(endpoint: str, tls: TLSConfig, new_client: NewClient) -> EtcdError:
    start = time.monotonic()
    with pytest.raises(UnavailableError) as info:
        client = new_client(endpoint, tls=tls, dial_timeout=DIAL_TIMEOUT)
        client.close()
    assert time.monotonic() - start < FAIL_BUDGET
    assert "dial_timeout" in str(info.value)
    return info.value


@pytest.mark.parametrize("scheme", ["https://", ""])
def test_server_tls_with_ca_bytes(
    server_tls: TLSEtcd, ca: trustme.CA, scheme: str, new_client: NewClient
) -> None:
    tls = TLSConfig(ca=ca.cert_pem.bytes())
    with new_client(scheme + server_tls.https_endpoint, tls=tls, dial_timeout=10) as client:
        _roundtrip(client)


def test_server_tls_with_ca_path(
    server_tls: TLSEtcd, ca: trustme.CA, tmp_path: Path, new_client: NewClient
) -> None:
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    for ca_arg in (str(ca_path), ca_path):
        tls = TLSConfig(ca=ca_arg)
        with new_client(f"https://{server_tls.https_endpoint}", tls=tls, dial_timeout=10) as client:
            _roundtrip(client)


def test_plain_text_client_on_tls_port_fails(server_tls: TLSEtcd, new_client: NewClient) -> None:
    start = time.monotonic()
    with pytest.raises(UnavailableError):
        new_client(server_tls.https_endpoint, dial_timeout=DIAL_TIMEOUT).close()
    assert time.monotonic() - start < FAIL_BUDGET


def test_wrong_ca_fails_typed(server_tls: TLSEtcd, new_client: NewClient) -> None:
    other = trustme.CA()
    error = _expect_dial_failure(
        f"https://{server_tls.https_endpoint}", TLSConfig(ca=other.cert_pem.bytes()), new_client
    )
    # gRPC's reason is kept: the handshake failed on the certificate
    assert any(w in str(error).lower() for w in ("ssl", "handshake", "certificate")), error


def test_mutual_tls_with_client_cert(
    mutual_tls: TLSEtcd, ca: trustme.CA, tmp_path: Path, new_client: NewClient
) -> None:
    leaf = ca.issue_cert("etcd3py-client")
    cert_path, key_path = tmp_path / "client.pem", tmp_path / "client-key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert_path))
    leaf.private_key_pem.write_to_path(str(key_path))
    by_bytes = TLSConfig(
        ca=ca.cert_pem.bytes(),
        cert=leaf.cert_chain_pems[0].bytes(),
        key=leaf.private_key_pem.bytes(),
    )
    by_path = TLSConfig(ca=ca.cert_pem.bytes(), cert=cert_path, key=str(key_path))
    for tls in (by_bytes, by_path):
        with new_client(f"https://{mutual_tls.https_endpoint}", tls=tls, dial_timeout=10) as client:
            _roundtrip(client)


def test_mutual_tls_without_client_cert_fails_typed(
    mutual_tls: TLSEtcd, ca: trustme.CA, new_client: NewClient
) -> None:
    _expect_dial_failure(
        f"https://{mutual_tls.https_endpoint}", TLSConfig(ca=ca.cert_pem.bytes()), new_client
    )


def test_mutual_tls_with_untrusted_client_cert_fails_typed(
    mutual_tls: TLSEtcd, ca: trustme.CA, new_client: NewClient
) -> None:
    stranger = trustme.CA().issue_cert("etcd3py-client")
    tls = TLSConfig(
        ca=ca.cert_pem.bytes(),
        cert=stranger.cert_chain_pems[0].bytes(),
        key=stranger.private_key_pem.bytes(),
    )
    _expect_dial_failure(f"https://{mutual_tls.https_endpoint}", tls, new_client)


def test_expired_server_cert_fails_typed(ca: trustme.CA, new_client: NewClient) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = ca.issue_cert(
        "127.0.0.1",
        "localhost",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    member = _start(expired)
    try:
        _expect_dial_failure(
            f"https://{member.https_endpoint}", TLSConfig(ca=ca.cert_pem.bytes()), new_client
        )
    finally:
        member.remove()


def test_server_name_override(ca: trustme.CA, new_client: NewClient) -> None:
    member = _start(ca.issue_cert("etcd.test"))
    try:
        endpoint = f"https://{member.https_endpoint}"
        # the certificate does not name 127.0.0.1: refused without the override
        _expect_dial_failure(endpoint, TLSConfig(ca=ca.cert_pem.bytes()), new_client)
        tls = TLSConfig(ca=ca.cert_pem.bytes(), server_name="etcd.test")
        with new_client(endpoint, tls=tls, dial_timeout=10) as client:
            _roundtrip(client)
    finally:
        member.remove()
