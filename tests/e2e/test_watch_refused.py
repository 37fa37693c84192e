"""A refused watch create must not silence the other watches of its stream.

etcd 3.5.0-3.5.5 answer a create refused for auth with the request's ``watch_id`` (0: the
client lets the server pick ids) instead of -1, and their send loop then drops id 0 from the
stream's announced ids: every later event of the stream's own watch 0 is held back for good
(etcd ``server/etcdserver/api/v3rpc/watch.go`` at v3.5.1: ``WatchId: creq.WatchId`` for the
refusal, ``if c.Canceled { delete(ids, wid) }`` in ``sendLoop``; fixed in 3.5.6 and 3.4.23).
The client registers that watch again (``WatchMux._reregister_named_by_refusal``). Runs on a
private server with auth enabled (an ``app`` user may read and write ``/app/`` only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from etcd3py.errors import PermissionDeniedError
from tests.conftest import selected_backends
from tests.faults.test_auth_expiry import PREFIX, USER, _auth_setup, _private

pytestmark = pytest.mark.both_faces

WAIT = 10.0  # seconds any single expected watch response may take


@pytest.fixture(params=["testserver", "etcd35", "etcd34"])
def auth_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """A private server with auth enabled, root and the ``app`` user (see test_auth_expiry)."""
    if request.param not in selected_backends(request.config):
        pytest.skip(f"backend {request.param} not selected")
    with _private(request.param) as endpoint:
        _auth_setup(endpoint)
        yield endpoint


def _next(chan: Any, deadline: float) -> Any:
    left = deadline - time.monotonic()
    assert left > 0, "no response in time"
    return chan.get(left)


def test_a_refused_create_leaves_the_streams_first_watch_going(
    auth_endpoint: str, new_client: Callable[..., Any]
) -> None:
    with new_client([auth_endpoint], username=USER[0], password=USER[1]) as app:
        allowed = app.watch(PREFIX + "k", created_notify=True)
        deadline = time.monotonic() + WAIT
        first = None
        while first is None:  # registered (server id 0: the first watch of the stream)
            first = _next(allowed, deadline)
        assert first.created and first.err() is None
        denied = app.watch("/elsewhere/k")
        deadline = time.monotonic() + WAIT
        with pytest.raises(PermissionDeniedError):
            while True:
                _next(denied, deadline)
        revisions = [app.put(PREFIX + "k", str(i)).header.revision for i in range(3)]
        seen: list[tuple[bytes, int]] = []
        deadline = time.monotonic() + WAIT
        while len(seen) < len(revisions):
            resp = _next(allowed, deadline)
            if resp is not None:
                assert resp.err() is None, resp.err()
                seen.extend((e.kv.key, e.kv.mod_revision) for e in resp.events)
        assert seen == [((PREFIX + "k").encode(), rev) for rev in revisions]
