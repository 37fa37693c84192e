"""The differential harness checks itself: etcdctl against etcdctl must show no difference.

Running etcdctl on both servers of a pair proves that the normalisation covers everything
that legitimately differs between two servers of one kind and that the two-server scheme
keeps their histories aligned; a tool that changes one byte must be caught. The normalisers
are also tested on literal strings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.cli.difftest import (
    Etcdctl,
    Pair,
    Result,
    Run,
    ServerInfo,
    Side,
    Step,
    Tool,
    chain,
    normalize_durations,
    normalize_hash,
    normalize_output,
    normalize_panic,
    normalize_raft,
    normalize_tables,
    normalize_zap,
    normalize_zap_line,
    replace_ids,
    replace_leases,
    replace_literals,
    replace_names,
    step,
)

LEASE = r"lease (?P<lease>[0-9a-f]+) granted"

#: put/get/del in three writers, a lease, members, endpoints, an error with a zap log line.
SELFCHECK: list[Step] = [
    step("put foo bar"),
    step("put foo bar2 --prev-kv -w json"),
    step("get foo -w json"),
    step("get foo -w fields"),
    step("get foo"),
    step("lease grant 100", capture=LEASE),
    step("put --lease={lease} k v"),
    step("lease timetolive {lease} --keys"),
    step("lease timetolive {lease} -w json"),
    step("lease grant 50 -w fields"),
    step("lease list"),
    step("get k -w json"),
    step("member list -w table"),
    step("member list -w json"),
    step("member list -w fields"),
    step("member list"),
    step("endpoint status -w json", normalize=["raft"]),
    step("endpoint status -w table", normalize=["raft"]),
    step("endpoint status -w fields", normalize=["raft"]),
    step("endpoint status", normalize=["raft"]),
    step("endpoint health -w table"),
    step("endpoint health -w json"),
    step("endpoint hashkv", normalize=["hash"]),
    step("lease revoke 1234567", expect_rc=1),  # a zap retry warning naming the endpoint
    step("del foo -w json"),
    step("del foo --prev-kv"),
    step("get", expect_rc=128),
    step("put foo", stdin="from {name}\n"),
    step("get foo -w simple --print-value-only"),
]


def test_etcdctl_against_etcdctl_is_identical(pair: Pair) -> None:
    report = pair.check(SELFCHECK, candidate=Etcdctl(name="etcdctl-B"))
    assert len(report.outcomes) == len(SELFCHECK)
    assert report.state is not None and "lease=<lease-1>" in report.state[0]
    print(report.summary())


class _Tampering(Tool):
    """etcdctl with one byte of its stdout changed (``bar`` → ``baz``)."""

    name = "tampered"

    def call(self, argv: Sequence[str], run: Run) -> Result:
        real = run.of(Etcdctl(), argv)
        return dataclasses.replace(real, stdout=real.stdout.replace(b"bar", b"baz"))


def test_a_difference_is_reported_with_a_diff(pair: Pair) -> None:
    report = pair.run([step("put q bar"), step("get q")], candidate=_Tampering())
    assert [o.identical for o in report.outcomes] == [True, False]
    with pytest.raises(AssertionError) as info:
        report.assert_identical()
    text = str(info.value)
    assert "step 2: get q" in text
    assert "--- etcdctl@A stdout (normalised)" in text
    assert "+++ tampered@B stdout (normalised)" in text
    assert "-bar" in text and "+baz" in text


def test_a_diverged_history_is_reported_then_reset(pair: Pair) -> None:
    # the candidate writes one more revision: same output, but the key spaces differ
    report = pair.run(
        [step("put d 1")],
        candidate=_Writing(),
    )
    assert report.outcomes[0].identical
    assert not report.identical
    assert "server state after the scenario" in report.diff()
    starts = pair.starts
    again = pair.run([step("put d 1")], candidate=Etcdctl())
    assert pair.starts == starts + 1 and again.notes and again.identical


class _Writing(Tool):
    """etcdctl that writes the key twice."""

    name = "writing-twice"

    def call(self, argv: Sequence[str], run: Run) -> Result:
        run.of(Etcdctl(), argv)
        return run.of(Etcdctl(), argv)


# ---- the normalisers on literal strings ---------------------------------------------------

CID, MID = 0xA27EA720C7E98AED, 0xBEC061BECB85D12A
SHORT = 0x0E9E05C52164694D  # 15 hex digits


def test_ids_in_every_form() -> None:
    norm = replace_ids({"cluster-id": CID, "member-id": MID})
    text = (
        f'{{"cluster_id":{CID},"member_id":{MID}}}\n'
        f"{MID:x}, started, default\n"
        f"Member {MID:16x} added to cluster {CID:16x}\n"
        f'"MemberID" : {MID}\n'
    )
    assert norm(text) == (
        '{"cluster_id":<cluster-id:dec>,"member_id":<member-id:dec>}\n'
        "<member-id>, started, default\n"
        "Member <member-id> added to cluster <cluster-id>\n"
        '"MemberID" : <member-id:dec>\n'
    )
    # not inside longer numbers or hex strings
    assert norm(f"1{MID} {MID:x}0 x{MID:x}") == f"1{MID} {MID:x}0 x<member-id>"


def test_short_ids_pad_like_full_width_ones() -> None:
    short, full = replace_ids({"member-id": SHORT}), replace_ids({"member-id": MID})
    for fmt in ("Member {:16x} removed", "{:x}, started", "ep, {:x}, 3.5.1", "lease {:016x}"):
        assert short(fmt.format(SHORT)) == full(fmt.format(MID)), fmt


def test_leases_by_first_appearance() -> None:
    first, second = 0x694D7B1E0C6E2C0A, 0x0D4D7B1E0C6E2C0B
    norm = replace_leases([first, second, 7])  # 7 is too small to be taken for a lease
    text = f"lease {first:016x} granted\n{second:016x}\n{second:x}\n{second}\nkey/{first:x}\n7\n"
    assert norm(text) == (
        "lease <lease-1> granted\n<lease-2>\n<lease-2>\n<lease-2:dec>\nkey/<lease-1>\n7\n"
    )


def test_literals_longest_first_and_names() -> None:
    norm = chain(
        replace_literals({"http://127.0.0.1:2379": "<client-url>", "127.0.0.1:2379": "<endpoint>"}),
        replace_names(["m1"]),
    )
    assert norm("http://127.0.0.1:2379,127.0.0.1:2379 m1 m10 m1.x") == (
        "<client-url>,<endpoint> <member-name> m10 m1.x"
    )


def test_zap_lines_compare_structurally() -> None:
    line = (
        '{"level":"warn","ts":"2026-12-06T17:28:21.815Z","logger":"etcd-client",'
        '"caller":"v3/retry_interceptor.go:62","msg":"retrying of unary invoker failed",'
        '"target":"etcd-endpoints://0xc0003c6000/127.0.0.1:1","attempt":0,"error":"x"}\n'
    )
    assert normalize_zap_line(line) == (
        '{"level":"warn","logger":"etcd-client","caller":"v3/retry_interceptor.go:62",'
        '"msg":"retrying of unary invoker failed",'
        '"target":"etcd-endpoints://0x<ptr>/127.0.0.1:1","attempt":0,"error":"x"}\n'
    )
    production = '{"level":"warn","ts":1796578066.6418014,"caller":"flags/flag.go:93","msg":"m"}'
    assert normalize_zap_line(production) == (
        '{"level":"warn","caller":"flags/flag.go:93","msg":"m"}'
    )
    assert json.loads(normalize_zap_line(production))["msg"] == "m"
    assert normalize_zap('{"level": broken\nError: x\n') == '{"level": broken\nError: x\n'


def test_zap_stacktraces_and_go_panics() -> None:
    fatal = '{"level":"fatal","ts":1.5,"caller":"flags/flag.go:85","msg":"m","stacktrace":"go\\n"}'
    assert normalize_zap_line(fatal) == (
        '{"level":"fatal","caller":"flags/flag.go:85","msg":"m","stacktrace":"<stacktrace>"}'
    )
    panic = (
        "panic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0xb6e9a5]\n\n"
        "goroutine 1 [running]:\nmain.main()\n\t/x.go:1 +0x25\n"
    )
    assert normalize_panic("OK\n" + panic) == (
        "OK\npanic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV <...>]\n\n<go stack>\n"
    )
    assert normalize_panic("panic: bad value\n\n") == "panic: bad value\n\n<go stack>\n"
    assert normalize_panic("panic: no blank line\n") == "panic: no blank line\n"


def test_durations() -> None:
    text = (
        "127.0.0.1:1 is healthy: successfully committed proposal: took = 2.158333ms\n"
        '[{"endpoint":"e","health":true,"took":"812.5µs"}]\n'
        '"Took" : 1m30s\n'
        '{"msg":"x","took":0.00123}\n'
        "took = 2.1 ms\n"  # not a Go duration: left alone for the diff to show
    )
    assert normalize_durations(text) == (
        "127.0.0.1:1 is healthy: successfully committed proposal: took = <duration>\n"
        '[{"endpoint":"e","health":true,"took":"<duration>"}]\n'
        '"Took" : <duration>\n'
        '{"msg":"x","took":<duration>}\n'
        "took = 2.1 ms\n"
    )


def test_raft_and_hash() -> None:
    simple = "127.0.0.1:2379, 8e9e05c52164694d, 3.5.1, 20 kB, true, false, 2, 9, 10, \n"
    assert normalize_raft(simple) == (
        "127.0.0.1:2379, 8e9e05c52164694d, 3.5.1, <size>, true, false, 2, <n>, <n>, \n"
    )
    fields = '"DBSize" : 20480\n"RaftIndex" : 9\n"RaftTerm" : 2\n"RaftAppliedIndex" : 9\n'
    assert normalize_raft(fields) == (
        '"DBSize" : <n>\n"RaftIndex" : <n>\n"RaftTerm" : 2\n"RaftAppliedIndex" : <n>\n'
    )
    js = '"dbSize":20480,"raftIndex":9,"raftTerm":2,"raftAppliedIndex":9,"dbSizeInUse":16384'
    assert normalize_raft(js) == (
        '"dbSize":<n>,"raftIndex":<n>,"raftTerm":2,"raftAppliedIndex":<n>,"dbSizeInUse":<n>'
    )
    assert normalize_hash('127.0.0.1:2379, 4096\n"Hash" : 5\n"hash":6,') == (
        '127.0.0.1:2379, <n>\n"Hash" : <n>\n"hash":<n>,'
    )


TABLE = """\
+------------------+---------+---------+
|        ID        | STATUS  |  TOOK   |
+------------------+---------+---------+
| bec061becb85d12a | started | 2.404ms |
+------------------+---------+---------+
"""


def test_tables_are_re_rendered_after_their_cells() -> None:
    norm = replace_ids({"member-id": MID})
    assert normalize_tables("before\n" + TABLE + "after\n", norm, {"TOOK": "<duration>"}) == (
        "before\n"
        "+-------------+---------+------------+\n"
        "|     ID      | STATUS  |    TOOK    |\n"
        "+-------------+---------+------------+\n"
        "| <member-id> | started | <duration> |\n"
        "+-------------+---------+------------+\n"
        "after\n"
    )
    # a table not laid out as tablewriter does is left to the plain text rules
    crooked = TABLE.replace("| started |", "|started  |")
    assert normalize_tables(crooked, norm) == crooked


def _side(cluster_id: int, member_id: int, port: int, lease: int) -> Side:
    info = ServerInfo(
        kind="etcd35",
        endpoint=f"127.0.0.1:{port}",
        cluster_id=cluster_id,
        member_id=member_id,
        name="default",
        client_urls=(f"http://127.0.0.1:{port}",),
        peer_urls=(f"http://127.0.0.1:{port + 1}",),
    )
    return Side("A", info, Path(f"/tmp/work-{port}"), [lease])


def test_two_sides_normalise_alike() -> None:
    sides = [
        _side(CID, MID, 40001, 0x694D7B1E0C6E2C0A),
        _side(0xC3680CDB9BD86754, 0xCE9E05C52164694D, 50123, 0x0D4D7B1E0C6E2C77),
    ]
    outputs = []
    for side in sides:
        info, lease = side.info, side.leases[0]
        text = (
            f"+------------------+\n|        ID        |\n+------------------+\n"
            f"| {info.member_id:x} |\n+------------------+\n"
            f"{info.member_id:x}, started, default, {info.peer_urls[0]}, "
            f"{info.client_urls[0]}, false\n"
            f"lease {lease:016x} granted with TTL(100s)\n"
            f'{{"level":"info","ts":1.5,"msg":"saved","path":"{side.workdir}/s.db"}}\n'
            f"{info.endpoint}, {info.member_id:x}, 3.5.1, 25 kB, true, false, 2, 9, 9, \n"
        )
        outputs.append(normalize_output(text, side.values_normalizer(), ["raft"]))
    assert outputs[0] == outputs[1]
    assert outputs[0].splitlines()[5:] == [
        "<member-id>, started, default, <peer-url>, <client-url>, false",
        "lease <lease-1> granted with TTL(100s)",
        '{"level":"info","msg":"saved","path":"<workdir>/s.db"}',
        "<endpoint>, <member-id>, 3.5.1, <size>, true, false, 2, <n>, <n>, ",
    ]


def test_captured_ids_by_group_name() -> None:
    side = _side(CID, MID, 40001, 0x694D7B1E0C6E2C0A)
    side.register_capture("lease_dec", str(0x1D4D7B1E0C6E2C0B))
    side.register_capture("member", "5e9e05c52164694d")
    side.register_capture("member_x", f"{MID:x}")  # the server's own id keeps its name
    side.register_capture("other", "5e9e05c52164694e")  # not an id
    side.register_capture("lease", "zz")  # not a number: ignored
    assert side.leases == [0x694D7B1E0C6E2C0A, 0x1D4D7B1E0C6E2C0B]
    norm = side.values_normalizer()
    text = "Member 5e9e05c52164694d added to cluster a27ea720c7e98aed\nlease 1d4d7b1e0c6e2c0b"
    assert norm(text) == "Member <member-1> added to cluster <cluster-id>\nlease <lease-2>"


def test_step_templates() -> None:
    st = step("put --lease={lease} 'a b' '{{x}}'", normalize=["raft"])
    assert st.argv == ("put", "--lease={lease}", "a b", "{{x}}")
    assert st.normalize == frozenset({"raft"})
    with pytest.raises(ValueError):
        step("get", normalize=["nope"])
