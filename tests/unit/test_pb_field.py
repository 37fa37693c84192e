"""The frame-free view helpers: ``pb_field`` properties and ``wrap_all`` lists."""

from __future__ import annotations

import pytest

from etcd3py import _pb
from etcd3py._pb_field import wrap_all
from etcd3py.models import KeyValue, ResponseHeader
from etcd3py.watch import Event


def _kvs(n: int) -> _pb.rpc.RangeResponse:
    response = _pb.rpc.RangeResponse()
    for i in range(n):
        response.kvs.add(key=b"k%d" % i, value=b"v%d" % i, mod_revision=i + 1, lease=i)
    return response


@pytest.mark.parametrize("n", [0, 1, 1000])
def test_wrap_all_is_the_list_of_views(n: int) -> None:
    messages = _kvs(n).kvs
    views = wrap_all(KeyValue, messages)
    assert views == [KeyValue(m) for m in messages]
    assert [(v.key, v.value, v.mod_revision, v.lease) for v in views] == [
        (b"k%d" % i, b"v%d" % i, i + 1, i) for i in range(n)
    ]


def test_wrap_all_makes_events_too() -> None:
    response = _pb.rpc.WatchResponse()
    response.events.add(type=_pb.kv.Event.DELETE, kv=_pb.kv.KeyValue(key=b"a"))
    (event,) = wrap_all(Event, response.events)
    assert event.kv.key == b"a" and event.type.name == "DELETE"


def test_a_field_is_read_only_and_documented() -> None:
    kv = KeyValue(_pb.kv.KeyValue(key=b"a", version=3))
    assert kv.key == b"a" and kv.version == 3
    with pytest.raises(AttributeError):
        kv.key = b"b"  # type: ignore[misc]
    assert KeyValue.version.__doc__ and ResponseHeader.revision.__doc__
