"""Go 1.16 encoding/json as etcdctl's json writer prints trees and etcd messages.

Known answers are the spec's (§2.6) and Go's documented string escaping (HTML-safe:
``<`` ``>`` ``&`` U+2028 U+2029 escaped, invalid UTF-8 as U+FFFD); where Python's ``json``
writes the same text, it is the reference.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcd3py import _pb
from etcd3py.cli._gojson import Raw, dumps, go_string, message

CLUSTER_ID = 14841639068965178418
MEMBER_ID = 10276657743932975437
HEADER = _pb.rpc.ResponseHeader(cluster_id=CLUSTER_ID, member_id=MEMBER_ID, revision=5, raft_term=2)
HEADER_JSON = (
    '{"cluster_id":14841639068965178418,"member_id":10276657743932975437,'
    '"revision":5,"raft_term":2}'
)


def _kv() -> Any:
    return _pb.kv.KeyValue(key=b"foo", create_revision=2, mod_revision=5, version=4, value=b"bar")


KV_JSON = '{"key":"Zm9v","create_revision":2,"mod_revision":5,"version":4,"value":"YmFy"}'


# --- messages (spec §2.6) -------------------------------------------------------------------


def test_range_response() -> None:
    resp = _pb.rpc.RangeResponse(header=HEADER, kvs=[_kv()], count=1)
    assert dumps(message(resp)) == (
        '{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,'
        '"revision":5,"raft_term":2},"kvs":[{"key":"Zm9v","create_revision":2,'
        '"mod_revision":5,"version":4,"value":"YmFy"}],"count":1}'
    )


def test_txn_response_oneof_is_under_its_go_name() -> None:
    inner = _pb.rpc.RangeResponse(header=_pb.rpc.ResponseHeader(revision=3), kvs=[_kv()], count=1)
    resp = _pb.rpc.TxnResponse(
        header=HEADER, succeeded=True, responses=[_pb.rpc.ResponseOp(response_range=inner)]
    )
    assert dumps(message(resp)) == (
        '{"header":' + HEADER_JSON + ',"succeeded":true,"responses":[{"Response":'
        '{"response_range":{"header":{"revision":3},"kvs":[' + KV_JSON + '],"count":1}}}]}'
    )


def test_oneof_unset_is_null_and_set_empty_is_an_object() -> None:
    assert dumps(message(_pb.rpc.ResponseOp())) == '{"Response":null}'
    op = _pb.rpc.ResponseOp(response_put=_pb.rpc.PutResponse())
    assert dumps(message(op)) == '{"Response":{"response_put":{}}}'
    # Compare: the oneof sits where its first field is declared, named in Go CamelCase
    compare = _pb.rpc.Compare(key=b"k", version=0, range_end=b"z")
    assert (
        dumps(message(compare)) == '{"key":"aw==","TargetUnion":{"version":0},"range_end":"eg=="}'
    )


def test_event_type_is_a_number_and_put_is_omitted() -> None:
    put = _pb.kv.Event(type=_pb.kv.Event.PUT, kv=_kv())
    delete = _pb.kv.Event(type=_pb.kv.Event.DELETE, kv=_kv(), prev_kv=_kv())
    assert dumps(message(put)) == '{"kv":' + KV_JSON + "}"
    assert dumps(message(delete)) == '{"type":1,"kv":' + KV_JSON + ',"prev_kv":' + KV_JSON + "}"


def test_alarm_response() -> None:
    resp = _pb.rpc.AlarmResponse(
        header=HEADER, alarms=[_pb.rpc.AlarmMember(memberID=MEMBER_ID, alarm=_pb.rpc.NOSPACE)]
    )
    assert dumps(message(resp)) == (
        '{"header":' + HEADER_JSON + ',"alarms":[{"memberID":10276657743932975437,"alarm":1}]}'
    )
    assert dumps(message(_pb.rpc.AlarmResponse())) == "{}"  # alarm disarm: no header


def test_member_keys_are_the_proto_names() -> None:
    member = _pb.rpc.Member(
        ID=MEMBER_ID,
        name="default",
        peerURLs=["http://localhost:2380"],
        clientURLs=["http://localhost:2379"],
    )
    assert dumps(message(member)) == (
        '{"ID":10276657743932975437,"name":"default","peerURLs":["http://localhost:2380"],'
        '"clientURLs":["http://localhost:2379"]}'
    )
    learner = _pb.rpc.Member(ID=1, isLearner=True)
    assert dumps(message(learner)) == '{"ID":1,"isLearner":true}'


def test_status_response_field_order() -> None:
    resp = _pb.rpc.StatusResponse(
        header=HEADER,
        version="3.5.1",
        dbSize=20480,
        leader=MEMBER_ID,
        raftIndex=4,
        raftTerm=2,
        raftAppliedIndex=4,
        errors=["a", "b"],
        dbSizeInUse=16384,
    )
    assert list(message(resp)) == [
        "header",
        "version",
        "dbSize",
        "leader",
        "raftIndex",
        "raftTerm",
        "raftAppliedIndex",
        "errors",
        "dbSizeInUse",
    ]
    assert message(resp)["errors"] == ["a", "b"]


def test_omitempty() -> None:
    # an unset header is left out, a set empty one is {}
    assert message(_pb.rpc.PutResponse()) == {}
    assert dumps(message(_pb.rpc.PutResponse(header=_pb.rpc.ResponseHeader()))) == '{"header":{}}'
    # zero scalars, empty bytes and empty lists are left out; bytes stay bytes
    perm = _pb.auth.Permission(permType=_pb.auth.Permission.READ, key=b"a", range_end=b"")
    assert message(perm) == {"key": b"a"}
    perm = _pb.auth.Permission(permType=_pb.auth.Permission.READWRITE, key=b"", range_end=b"\0")
    assert dumps(message(perm)) == '{"permType":2,"range_end":"AA=="}'
    assert message(_pb.rpc.RangeResponse(kvs=[], count=0, more=False)) == {}


def test_uint64_and_int64_are_exact() -> None:
    resp = _pb.rpc.HashKVResponse(hash=2**32 - 1, compact_revision=2**63 - 1)
    assert dumps(message(resp)) == '{"hash":4294967295,"compact_revision":9223372036854775807}'


# --- trees and strings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\n\r\t", '"\\n\\r\\t"'),
        ("\b\f\x00\x1f", '"\\u0008\\u000c\\u0000\\u001f"'),
        ("<a href='x'>&amp;</a>", "\"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e\""),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
        ("\x7f\u00b5\u65e5\U0001f600", '"\x7f\u00b5\u65e5\U0001f600"'),
        ("", '""'),
    ],
)
def test_go_string_escaping(text: str, expected: str) -> None:
    assert dumps(text) == expected
    assert go_string(text) == expected
    assert go_string(text.encode()) == expected


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert go_string(b"a\xffb\xe2\x82") == '"a\\ufffdb\\ufffd\\ufffd"'
    assert go_string("1\udcff") == '"1\\ufffd"'  # the same byte from sys.argv
    assert go_string("\ufffd".encode()) == '"\ufffd"'  # a real U+FFFD stays


def test_trees() -> None:
    tree = {
        "endpoint": "127.0.0.1:1",
        "health": False,
        "took": "1.000953888s",
        "error": "context deadline exceeded",
    }
    assert dumps([tree]) == (
        '[{"endpoint":"127.0.0.1:1","health":false,"took":"1.000953888s",'
        '"error":"context deadline exceeded"}]'
    )
    assert dumps({"keys": None, "ok": True, "n": -(2**70)}) == (
        '{"keys":null,"ok":true,"n":-1180591620717411303424}'
    )
    assert dumps((b"foo", b"", bytearray(b"\xff"))) == '["Zm9v","","/w=="]'
    assert (
        dumps({"Status": Raw('{"a" : 1}'), "<k>": []})
        == '{"Status":{"a" : 1},"\\u003ck\\u003e":[]}'
    )


@pytest.mark.parametrize("bad", [1.5, {1: 2}, {"a": object()}, {1, 2}])
def test_other_types_are_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        dumps(bad)


# JSON trees of the types dumps takes (bytes aside; no lone surrogates: Go has none)
_TEXT = st.text(alphabet=st.characters(codec="utf-8"))
_TREES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)
# text where Go's and Python's escaping agree (Python writes \b \f, leaves <>& and U+2028)
_PLAIN = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\b\f<>&\u2028\u2029"))
_PLAIN_TREES = st.recursive(
    st.none() | st.booleans() | st.integers() | _PLAIN,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_PLAIN, inner, max_size=4),
    max_leaves=20,
)


@given(_TREES)
def test_dumps_is_json_that_reads_back(tree: object) -> None:
    assert json.loads(dumps(tree)) == tree


@given(_PLAIN_TREES)
def test_dumps_matches_python_where_the_escaping_agrees(tree: object) -> None:
    assert dumps(tree) == json.dumps(tree, ensure_ascii=False, separators=(",", ":"))
