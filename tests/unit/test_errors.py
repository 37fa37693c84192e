"""The error table: every registered class round-trips through a fake gRPC failure."""

from __future__ import annotations

import grpc
import pytest

from etcd3py import errors
from etcd3py.errors import EtcdError, from_rpc_error


class FakeRpcError(grpc.RpcError):
    """What a failed unary call raises: an RpcError with code() and details()."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


BY_MESSAGE = sorted(errors._BY_MESSAGE.items())
BY_CODE = sorted(errors._BY_CODE.items(), key=lambda item: item[1].__name__)


@pytest.mark.parametrize(("message", "cls"), BY_MESSAGE, ids=[m for m, _ in BY_MESSAGE])
def test_every_etcd_message_maps_to_its_class(message: str, cls: type[EtcdError]) -> None:
    code = cls.grpc_code or grpc.StatusCode.UNKNOWN
    err = from_rpc_error(FakeRpcError(code, message))
    assert type(err) is cls
    assert str(err) == message
    assert err.details == message
    assert err.code == code


@pytest.mark.parametrize(("code", "cls"), BY_CODE, ids=[c.__name__ for _, c in BY_CODE])
def test_every_status_code_maps_to_its_family(code: grpc.StatusCode, cls: type[EtcdError]) -> None:
    err = from_rpc_error(FakeRpcError(code, "some text the server chose"))
    assert type(err) is cls
    assert str(err) == "some text the server chose"
    assert err.code == code


@pytest.mark.parametrize(
    "cls", [c for _, c in BY_MESSAGE if c.etcd_message], ids=lambda c: c.__name__
)
def test_status_gives_what_a_server_aborts_with(cls: type[EtcdError]) -> None:
    code, message = cls.status()
    assert type(from_rpc_error(FakeRpcError(code, message))) is cls


def test_grpc_size_refusal_is_request_too_large() -> None:
    text = "CLIENT: Sent message larger than max (2097175 vs. 2097152)"
    err = from_rpc_error(FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, text))
    assert isinstance(err, errors.RequestTooLargeError)
    assert str(err) == text


def test_unknown_code_falls_back_to_its_family_and_builtins_fit() -> None:
    err = from_rpc_error(FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"))
    assert isinstance(err, errors.DeadlineExceededError)
    assert isinstance(err, TimeoutError)
    assert isinstance(errors.ArgumentTypeError("x"), TypeError)
    assert isinstance(errors.EmptyKeyError(), ValueError)


def test_forked_client_error_is_an_etcd_error() -> None:
    assert issubclass(errors.ForkedClientError, EtcdError)
    assert "ForkedClientError" in errors.__all__


def test_go_context_errors_sent_as_unknown_map_to_deadline_and_cancel() -> None:
    # etcd 3.5.1 answers a linearizable read that outlived its deadline on a member without
    # a leader with status UNKNOWN and Go's bare "context deadline exceeded"
    late = from_rpc_error(FakeRpcError(grpc.StatusCode.UNKNOWN, "context deadline exceeded"))
    assert isinstance(late, errors.DeadlineExceededError)
    assert late.code == grpc.StatusCode.UNKNOWN
    gone = from_rpc_error(FakeRpcError(grpc.StatusCode.UNKNOWN, "context canceled"))
    assert isinstance(gone, errors.CanceledError)
