"""``member add|remove|update|list|promote`` against etcdctl 3.5.1.

Each scenario runs etcdctl on one server and etcd3py's command line (in this process) on
its twin (see :mod:`tests.cli.difftest`), on the reference server and on etcd 3.5.1.

On etcd, a learner with a peer URL nothing answers on can be added to the one-member
cluster and removed again without touching its quorum; the scenarios do that, and compare
every writer of add, list, update and remove, the ``ETCD_*`` lines, and the server's
refusals (promoting a learner out of sync or a voter, a second learner, unknown IDs, a peer
URL in use). No voter is ever added: a second voter that never starts would take the
quorum away. The reference server implements none of the changes: both tools
print its refusal. Peer URLs are refused by the client before anything is sent, with Go's
``url.Parse`` messages, whatever the server.

etcd lists members by ID, and a new member's ID hashes its peer URLs and the second it was
added: the learner's URL is chosen so that on both servers it sorts on the same side of the
server's own member (each scenario is retried with a new URL should a second boundary make
the two orders differ). The new member's ID is captured under a ``lease`` name, which the
harness then normalises as it does lease IDs. The protobuf writer's bytes hold server IDs:
both sides' bytes are decoded and compared as text.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Sequence

import pytest
from google.protobuf.message import Message

import etcd3py
from etcd3py import _pb
from etcd3py.cluster import MemberPromoteResponse
from tests.cli.difftest import WRITERS, Pair, Report, Step, decoded, run_main, step

ADDED = r"Member\s+(?P<lease_new>[0-9a-f]+) added"
LISTED = r"^(?P<lease_new>[0-9a-f]+), unstarted"


def _response(argv: Sequence[str]) -> type[Message]:
    """The response message of a ``member add|remove|update|list`` command line."""
    kind = next(a for a in ("add", "remove", "update", "list") if a in argv)
    message: type[Message] = getattr(_pb.rpc, f"Member{kind.capitalize()}Response")
    return message


def _run(pair: Pair, steps: Sequence[Step]) -> Report:
    """Run ``steps`` with ours in this process, both sides' protobuf outputs decoded."""
    return pair.run(steps, **decoded(_response))


def check(pair: Pair, steps: Sequence[Step]) -> Report:
    """Run ``steps`` (protobuf outputs decoded) and assert that both sides did the same."""
    report = _run(pair, steps)
    report.assert_identical()
    return report


def test_argument_errors(pair: Pair) -> None:
    lines = [
        "member add",
        "member add a b",
        "member add a http://x:1 HTTPS://y:2 z",  # a hint per argument that looks like a URL
        "member add a",
        "member add a --peer-urls=",
        "member add a --peer-urls=http://x:1 --learner=maybe",
        "member remove",
        "member remove 1 2",
        "member remove zz",
        "member remove 10000000000000000",
        "member remove -- -1",
        "member update",
        "member update zz --peer-urls=http://x:1",
        "member update 1",
        "member promote",
        "member promote 0x1",
        "member",
        "member nope",
        "member list --help",
        "member promote -h",
        "member add a --peer-urls=http:/x -w xx",  # the client (and -w) before the URLs
        "member update 1 --peer-urls=nope -w xx",
    ]
    check(pair, [step(line) for line in lines])


#: Peer URLs clientv3 refuses (Go's url.Parse, then types.NewURLs' own rules).
BAD_URLS = (
    "127.0.0.1:2380",
    "localhost:2380",
    "ftp://a:1",
    "http://a",
    "http://a:1/p",
    "http://a:1/",
    "http://a:1,",
    "http://a:1,,http://b:2",
    " http://a:1/x ",
    "http://a%zz:1",
    "http://%41:1",
    "http://a b:1",
    "http://a}:1",
    "http://[::1:1",
    "http://[::1]x:1",
    "http://[::1%zz]:1",
    "http://a:1#%zz",
    "http://u^@a:1",
    "http://a:b:1",
    "http:a:1",
    "http:///a:1",
    "HTTP://a:1/x",
    ":x",
    "*",
    "http://a\x01:1",
    "unix://a",
)


def test_bad_peer_urls(pair: Pair) -> None:
    steps = [step("member", "add", "m", f"--peer-urls={url}") for url in BAD_URLS]
    steps += [step("member", "update", "1", f"--peer-urls={url}") for url in BAD_URLS[:8]]
    check(pair, steps)


def test_list_every_writer(pair: Pair) -> None:
    steps = [step(f"member list -w {w}") for w in (*WRITERS, "protobuf")]
    steps += [
        step("member list -w json --hex"),  # etcdctl's hand-built text
        step("member list --hex"),
        step("member l"),  # a prefix
        step("member list --command-timeout=1ns"),  # the retry warning, then the error
    ]
    check(pair, steps)


def test_unknown_members_and_promoting_a_voter(pair: Pair) -> None:
    check(
        pair,
        [
            step("member remove 1234", expect_rc=1),
            step("member remove 1234 -w json", expect_rc=1),
            step("member update 1234 --peer-urls=http://192.0.2.1:2380", expect_rc=1),
            step("member promote 1234", expect_rc=1),
            step("member promote {member_id}", expect_rc=1),  # a voter
            step("member promote {member_id} -w json", expect_rc=1),  # refused: no panic
        ],
    )


def test_changes_refused_by_the_reference_server(pair: Pair) -> None:
    if pair.kind != "testserver":
        pytest.skip("etcd makes these changes: see the learner scenarios")
    check(
        pair,
        [
            step(f"member add m --learner --peer-urls=http://192.0.2.1:2380 -w {w}")
            for w in (*WRITERS, "protobuf")
        ]
        + [step("member add m --peer-urls=http://192.0.2.1:2380")],
    )


def test_update_the_member_itself(pair: Pair) -> None:
    # the member's own peer URL: nothing changes, every writer prints the response
    steps = [
        step(f"member update {{member_id}} --peer-urls={{peer_url}} -w {w}")
        for w in (*WRITERS, "protobuf")
    ]
    steps.append(step("member list"))
    check(pair, steps)


# ---- learners (etcd only) -----------------------------------------------------------------


def _new_member_id(url: str, second: int) -> int:
    """The ID etcd 3.5 gives a member added at ``second`` (Unix time) with the peer URLs
    whose sorted concatenation is ``url``."""
    digest = hashlib.sha1(f"{url}{second}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


#: Peer URLs given to learners in this module: never twice, since etcd refuses to add a
#: member under the ID of a removed one (``member not found``), and a URL added within the
#: same second gets the same ID.
USED: set[str] = set()


def _aligned_urls(pair: Pair, count: int) -> str:
    """``count`` unused peer URLs (on TEST-NET-1, where nothing answers), comma-separated,
    for which the ID of a member added in the next few seconds sorts on the same side of
    both servers' own member."""
    used = USED
    ids = [side.info.member_id for side in pair.sides]
    now = int(time.time())
    urls = (
        url
        for host, port in itertools.product(range(1, 255), range(2380, 2780))
        if (url := f"http://192.0.2.{host}:{port}") not in used
    )
    fallback: list[str] = []
    while True:
        group = list(itertools.islice(urls, count))
        if len(group) < count:
            break
        fallback = fallback or group
        joined = "".join(sorted(group))
        new = [_new_member_id(joined, second) for second in range(now, now + 3)]
        if all(n > max(ids) for n in new) or all(n < min(ids) for n in new):
            fallback = group
            break
    used.update(fallback)
    return ",".join(fallback)


def _remove_learners(pair: Pair) -> None:
    for side in pair.sides:
        with etcd3py.Client([side.info.endpoint]) as cli:
            for member in cli.member_list(timeout=10).members:
                if member.is_learner:
                    cli.member_remove(member.id, timeout=10)


def _orders(report: Report) -> list[tuple[bool, bool]]:
    """For each simple ``member list`` of the scenario: whether each side lists a learner
    first."""
    orders = []
    for outcome in report.outcomes:
        if outcome.step.argv == ("member", "list"):
            ref, ours = (r.stdout.split(b"\n")[0] for r in outcome.results)
            orders.append((b"unstarted" in ref, b"unstarted" in ours))
    return orders


def learner_scenario(
    pair: Pair, make: Callable[[list[str]], list[Step]], counts: Sequence[int]
) -> None:
    """Run the steps ``make(urls)`` gives for peer URL lists of ``counts`` URLs each (they
    add learners there and remove them); each learner must be listed (simple) while it
    exists, to check that it sorted alike on both servers (else the scenario is retried)."""
    if pair.kind != "etcd35":
        pytest.skip("the reference server does not change its membership")
    orders: list[tuple[bool, bool]] = []
    for _attempt in range(4):
        steps = make([_aligned_urls(pair, count) for count in counts])
        try:
            report = _run(pair, steps)
        finally:
            _remove_learners(pair)
        orders = _orders(report)
        if all(a == b for a, b in orders):
            report.assert_identical()
            return
    raise AssertionError(f"a learner kept sorting differently on the two servers: {orders}")


def test_learner_added_updated_removed(pair: Pair) -> None:
    def make(urls: list[str]) -> list[Step]:
        url, other = urls
        return [
            step(f"member add learner1 --learner --peer-urls={url}", capture=ADDED),
            step("member list"),
            *[step(f"member list -w {w}") for w in (*WRITERS[1:], "protobuf")],
            step("member list -w json --hex"),
            step(f"member update {{lease_new}} --peer-urls={other}"),
            step(f"member update {{lease_new}} --peer-urls={other} -w json"),
            step(f"member update {{lease_new}} --peer-urls={other} -w protobuf"),
            step(f"member update {{lease_new}} --peer-urls={other} -w fields"),  # done, then E4
            step(f"member update {{lease_new}} --peer-urls={other} -w table"),
            step("member update {lease_new} --peer-urls={peer_url}"),  # the member's URL
            step("member promote {lease_new}"),  # a learner not in sync with the leader
            step("member promote {lease_new} -w json"),
            step("member remove {lease_new}"),
            step("member list"),
            step("member remove {lease_new}"),  # gone
        ]

    learner_scenario(pair, make, [1, 1])


def test_learner_added_with_other_writers(pair: Pair) -> None:
    def make(urls: list[str]) -> list[Step]:
        unsorted = ",".join(reversed(urls[2].split(",")))
        return [
            step(f"member add learner2 --learner --peer-urls={urls[0]} -w json"),
            step("member list", capture=LISTED),
            step("member remove {lease_new} -w json"),
            step(f"member add learner3 --learner --peer-urls={urls[1]} -w protobuf"),
            step("member list", capture=LISTED.replace("lease_new", "lease_new3")),
            step("member remove {lease_new3} -w protobuf"),
            # two URLs, given unsorted: etcd keeps them sorted, ETCD_INITIAL_CLUSTER names both
            step(f"member add learner4 --learner --peer-urls={unsorted}", capture=ADDED),
            step("member list"),
            step("member remove {lease_new}"),
        ]

    learner_scenario(pair, make, [1, 1, 2])


def test_learner_added_and_removed_with_refusing_writers(pair: Pair) -> None:
    def make(urls: list[str]) -> list[Step]:
        return [
            step(f"member add learner5 --learner --peer-urls={urls[0]} -w table"),  # added, E4
            step("member list", capture=LISTED),
            step("member remove {lease_new} -w fields"),  # removed, then E4
            step(f"member add learner6 --learner --peer-urls={urls[1]} -w fields"),
            step("member list", capture=LISTED.replace("lease_new", "lease_new6")),
            step("member remove {lease_new6} -w table"),
            step("member list"),
        ]

    learner_scenario(pair, make, [1, 1])


# ---- promote: the panic of every writer but simple ----------------------------------------


def test_promote_panics_with_other_writers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A promotion that succeeds needs a learner in sync with the leader, which a one-member
    server cannot have: the client's answer is stood in for, and etcdctl's nil printer is
    checked for (the panic comes after the call)."""
    calls: list[int] = []

    def promote(self: etcd3py.Client, id: int, **kwargs: object) -> MemberPromoteResponse:
        calls.append(id)
        header = _pb.rpc.ResponseHeader(cluster_id=0xABC, member_id=1, raft_term=2)
        return MemberPromoteResponse(_pb.rpc.MemberPromoteResponse(header=header))

    monkeypatch.setattr(etcd3py.Client, "member_promote", promote)

    for writer in (*WRITERS, "protobuf"):
        argv = ["--endpoints=127.0.0.1:1", "-w", writer, "member", "promote", "a1"]
        result = run_main(argv, environ={})
        if writer == "simple":
            expected = b"Member " + b" " * 14 + b"a1 promoted in cluster " + b" " * 13 + b"abc\n"
            assert (result.rc, result.stdout) == (0, expected)
        else:
            assert result.rc == 2 and result.stdout == b""
            assert result.stderr.startswith(
                b"panic: runtime error: invalid memory address or nil pointer dereference\n"
            )
    assert calls == [0xA1] * 5
