"""Calls that cannot reach any member: retried until their deadline, then a clear error.

No server: the client points at a free loopback port where nothing listens.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from etcd3py import Client, Context, RetryPolicy
from etcd3py.errors import DeadlineExceededError, UnavailableError
from tests.backends import free_ports

pytestmark = pytest.mark.both_faces

NewClient = Callable[..., Client]


@pytest.fixture
def nowhere() -> str:
    return f"127.0.0.1:{free_ports(1)[0]}"


def test_a_read_fails_at_its_deadline_with_the_connection_error_as_cause(
    nowhere: str, new_client: NewClient
) -> None:
    with new_client(nowhere, dial_timeout=None) as client:
        start = time.monotonic()
        with pytest.raises(DeadlineExceededError) as caught:
            client.get("k", timeout=1.0)
        elapsed = time.monotonic() - start
    assert elapsed >= 1.0  # it kept trying until the deadline, not less
    assert nowhere in str(caught.value)  # the endpoints tried are named
    cause = caught.value.__cause__
    assert isinstance(cause, UnavailableError)
    assert nowhere in str(cause)  # gRPC's "failed to connect to ... 127.0.0.1:PORT"


def test_a_write_that_was_never_sent_is_retried_until_the_deadline(
    nowhere: str, new_client: NewClient
) -> None:
    with new_client(nowhere, dial_timeout=None) as client:
        start = time.monotonic()
        with pytest.raises(DeadlineExceededError) as caught:
            client.put("k", "v", timeout=0.8)
        assert time.monotonic() - start >= 0.8
    assert isinstance(caught.value.__cause__, UnavailableError)


def test_the_client_default_timeout_bounds_calls_without_one(
    nowhere: str, new_client: NewClient
) -> None:
    with new_client(nowhere, dial_timeout=None, default_timeout=0.5) as client:
        start = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            client.get("k")
        assert time.monotonic() - start >= 0.5
        # an explicit timeout wins over the default
        start = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            client.get("k", timeout=1.0)
        assert time.monotonic() - start >= 1.0


def test_without_any_deadline_the_policy_max_elapsed_bounds_the_retries(
    nowhere: str, new_client: NewClient
) -> None:
    policy = RetryPolicy(max_elapsed=0.5)
    with (
        new_client(nowhere, dial_timeout=None, retry=policy) as client,
        pytest.raises(DeadlineExceededError, match="max_elapsed"),
    ):
        client.get("k")


def test_a_ctx_deadline_bounds_the_call(nowhere: str, new_client: NewClient) -> None:
    ctx = Context.background().with_timeout(0.5)
    with new_client(nowhere, dial_timeout=None) as client:
        start = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            client.member_list(timeout=30.0, ctx=ctx)  # the nearer deadline wins
        assert time.monotonic() - start < 10.0


def test_cancelling_the_ctx_ends_a_retrying_call(nowhere: str, new_client: NewClient) -> None:
    import threading

    from etcd3py.errors import CanceledError

    ctx = Context.background().with_cancel()
    timer = threading.Timer(0.3, ctx.cancel)
    timer.start()
    try:
        with new_client(nowhere, dial_timeout=None) as client:
            start = time.monotonic()
            with pytest.raises(CanceledError):
                client.member_list(timeout=10.0, ctx=ctx)
            assert time.monotonic() - start < 5.0  # the backoff wait was cut short
    finally:
        timer.cancel()
