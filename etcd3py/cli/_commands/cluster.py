"""``etcdctl member add|remove|update|list|promote``.

Peer URLs are checked before they are sent, as clientv3 checks them
(:mod:`etcd3py.cli._urls`). The simple
writer names members in ``%16x`` (space-padded); ``member list -w json --hex`` is a text
etcdctl builds by hand; ``member promote`` with any writer but simple meets a nil printer
in etcdctl (a Go panic, after the promotion).
"""

from __future__ import annotations

from collections.abc import Sequence

from etcd3py import _pb
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._config import client, seconds
from etcd3py.cli._console import BAD_ARGS, fail
from etcd3py.cli._display import GoNilPanic, Out
from etcd3py.cli._failures import failed
from etcd3py.cli._flags import Flag
from etcd3py.cli._gofmt import GoNumError, parse_uint, quote
from etcd3py.cli._gojson import dumps
from etcd3py.cli._table import render
from etcd3py.cli._urls import check_urls
from etcd3py.cluster import Member
from etcd3py.errors import EtcdError
from etcd3py.models import ResponseHeader

__all__ = ["commands"]


# ---- arguments and messages ---------------------------------------------------------------


def _member_id(inv: Invocation) -> int:
    """The one member ID argument, hexadecimal.

    Raises:
        Exit: no argument, more than one, or not a uint64 in hex (128).
    """
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "member ID is not provided")
    try:
        return parse_uint(inv.args[0], 16)
    except GoNumError as exc:
        raise fail(BAD_ARGS, f"bad member ID arg ({exc}), expecting ID in Hex") from None


def _peer_urls(inv: Invocation) -> tuple[str, list[str]]:
    """``--peer-urls`` as given and split at commas (not trimmed: they are sent so).

    Raises:
        Exit: it is empty (128).
    """
    given = inv.str("peer-urls")
    if not given:
        raise fail(BAD_ARGS, "member peer urls not provided")
    return given, given.split(",")


def _change_done(
    out: Out,
    verb: str,
    member_id: int,
    header: ResponseHeader,
    pb: _pb.rpc.MemberRemoveResponse | _pb.rpc.MemberUpdateResponse,
) -> None:
    """Print a member remove or update: ``Member <id> <verb> cluster <id>``, or the message."""
    if out.kind == "simple":
        out.raw(f"Member {member_id:16x} {verb} cluster {header.cluster_id:16x}\n")
    else:
        out.whole(pb)


# ---- commands -----------------------------------------------------------------------------


def _add(inv: Invocation) -> None:
    """``member add <memberName> --peer-urls=<urls> [--learner]``."""
    if not inv.args:
        raise fail(BAD_ARGS, "member name not provided")
    if len(inv.args) > 1:
        hints = "".join(
            f", did you mean --peer-urls={arg}"
            for arg in inv.args
            if arg.lower().startswith("http")
        )
        raise fail(BAD_ARGS, f"too many arguments{hints}")
    name = inv.args[0]
    given, urls = _peer_urls(inv)
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    check_urls(urls)
    try:
        if inv.bool("learner"):
            resp = cli.member_add_as_learner(urls, timeout=timeout)
        else:
            resp = cli.member_add(urls, timeout=timeout)
    except EtcdError as exc:
        raise failed(inv, exc) from None
    out = Out(inv)
    new = resp.member
    if out.kind == "simple":
        out.raw(f"Member {new.id:16x} added to cluster {resp.header.cluster_id:16x}\n")
        cluster = [
            f"{name if member.id == new.id else member.name}={url}"
            for member in resp.members
            for url in member.peer_urls
        ]
        out.raw(
            f"\nETCD_NAME={quote(name)}\n"
            f"ETCD_INITIAL_CLUSTER={quote(','.join(cluster))}\n"
            f"ETCD_INITIAL_ADVERTISE_PEER_URLS={quote(given)}\n"
            'ETCD_INITIAL_CLUSTER_STATE="existing"\n'
        )
        return
    out.whole(resp.to_pb())


def _remove(inv: Invocation) -> None:
    """``member remove <memberID>``."""
    member_id = _member_id(inv)
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    try:
        resp = cli.member_remove(member_id, timeout=timeout)
    except EtcdError as exc:
        raise failed(inv, exc) from None
    _change_done(Out(inv), "removed from", member_id, resp.header, resp.to_pb())


def _update(inv: Invocation) -> None:
    """``member update <memberID> --peer-urls=<urls>``."""
    member_id = _member_id(inv)
    _given, urls = _peer_urls(inv)
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    check_urls(urls)
    try:
        resp = cli.member_update(member_id, urls, timeout=timeout)
    except EtcdError as exc:
        raise failed(inv, exc) from None
    _change_done(Out(inv), "updated in", member_id, resp.header, resp.to_pb())


def _promote(inv: Invocation) -> None:
    """``member promote <memberID>`` (every writer but simple panics in etcdctl)."""
    member_id = _member_id(inv)
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    try:
        resp = cli.member_promote(member_id, timeout=timeout)
    except EtcdError as exc:
        raise failed(inv, exc) from None
    out = Out(inv)
    if out.kind != "simple":
        raise GoNilPanic()
    out.raw(f"Member {member_id:16x} promoted in cluster {resp.header.cluster_id:16x}\n")


def _rows(members: Sequence[Member]) -> list[list[str]]:
    """The cells of ``member list``'s simple and table output."""
    return [
        [
            f"{m.id:x}",
            "started" if m.name else "unstarted",
            m.name,
            ",".join(m.peer_urls),
            ",".join(m.client_urls),
            "true" if m.is_learner else "false",
        ]
        for m in members
    ]


def _hex_json(header: ResponseHeader, members: Sequence[Member]) -> str:
    """``member list -w json --hex``: etcdctl's hand-built text (names unescaped, no
    revision, ``raft_term`` in unquoted hex, ``clientURLS``, no ``isLearner``)."""
    parts = [
        f'{{"header":{{"cluster_id":"{header.cluster_id:x}","member_id":"{header.member_id:x}",'
        f'"raft_term":{header.raft_term:x}}}'
    ]
    for i, m in enumerate(members):
        parts.append(',"members":[{' if i == 0 else ",{")
        parts.append(
            f'"ID":"{m.id:x}","name":"{m.name}","peerURLs":{dumps(m.peer_urls or None)},'
            f'"clientURLS":{dumps(m.client_urls or None)}}}'
        )
    if members:
        parts.append("]")
    return "".join(parts) + "}\n"


def _list(inv: Invocation) -> None:
    """``member list``."""
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    try:
        resp = cli.member_list(timeout=timeout)
    except EtcdError as exc:
        raise failed(inv, exc) from None
    out = Out(inv)
    members = resp.members
    if out.kind == "simple":
        out.raw("".join(", ".join(row) + "\n" for row in _rows(members)))
    elif out.kind == "table":
        header = ["ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"]
        out.raw(render(header, _rows(members)))
    elif out.kind == "fields":
        out.header(resp.to_pb().header)
        for m in members:
            out.line('"ID" :', m.id)
            out.raw(f'"Name" : {quote(m.name)}\n')
            out.raw("".join(f'"PeerURL" : {quote(url)}\n' for url in m.peer_urls))
            out.raw("".join(f'"ClientURL" : {quote(url)}\n' for url in m.client_urls))
            out.line('"IsLearner" :', m.is_learner)
            out.line()
    elif out.kind == "json" and out.hex:
        out.raw(_hex_json(resp.header, members))
    else:
        pb = resp.to_pb()
        if out.kind == "json":
            out.json(pb)
        else:
            out.protobuf(pb)


def commands() -> list[Command]:
    """``member`` and its subcommands."""
    return [
        Command(
            "member <subcommand>",
            "Membership related commands",
            children=[
                Command(
                    "add <memberName> [options]",
                    "Adds a member into the cluster",
                    run=_add,
                    flags=[
                        Flag(
                            "peer-urls",
                            "string",
                            "",
                            "comma separated peer URLs for the new member.",
                        ),
                        Flag(
                            "learner", "bool", False, "indicates if the new member is raft learner"
                        ),
                    ],
                ),
                Command("remove <memberID>", "Removes a member from the cluster", run=_remove),
                Command(
                    "update <memberID> [options]",
                    "Updates a member in the cluster",
                    run=_update,
                    flags=[
                        Flag(
                            "peer-urls",
                            "string",
                            "",
                            "comma separated peer URLs for the updated member.",
                        )
                    ],
                ),
                Command(
                    "list",
                    "Lists all members in the cluster",
                    "When --write-out is set to simple, this command prints out comma-separated "
                    "member lists for each endpoint.\n"
                    "The items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, "
                    "Is Learner.\n",
                    run=_list,
                ),
                Command(
                    "promote <memberID>",
                    "Promotes a non-voting member in the cluster",
                    "Promotes a non-voting learner member to a voting one in the cluster.\n",
                    run=_promote,
                ),
            ],
        )
    ]
