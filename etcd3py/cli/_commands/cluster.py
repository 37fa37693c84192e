"""``etcdctl member add|remove|update|list|promote``.

Peer URLs are checked before they are sent, as clientv3 checks them (``types.NewURLs``: Go's
``url.Parse``, then the scheme, a ``host:port`` and no path), with Go's messages. The simple
writer names members in ``%16x`` (space-padded); ``member list -w json --hex`` is a text
etcdctl builds by hand; ``member promote`` with any writer but simple meets a nil printer
in etcdctl (a Go panic, after the promotion).
"""

from __future__ import annotations

from collections.abc import Sequence

from etcd3py import _pb
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._config import client, seconds
from etcd3py.cli._console import BAD_ARGS, ERROR, fail
from etcd3py.cli._display import GoNilPanic, Out
from etcd3py.cli._failures import go_error, warn
from etcd3py.cli._flags import Flag
from etcd3py.cli._gofmt import GoNumError, parse_uint, quote
from etcd3py.cli._gojson import dumps
from etcd3py.cli._table import render
from etcd3py.cluster import Member
from etcd3py.errors import EtcdError
from etcd3py.models import ResponseHeader

__all__ = ["commands"]


# ---- peer URLs as clientv3 checks them (Go 1.16 net/url and net) --------------------------

#: Go's unicode.IsSpace, which strings.TrimSpace strips.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: ASCII bytes a host may hold unescaped besides letters and digits.
_HOST_OK = frozenset(b"!$&'()*+,;=:[]<>\"-_.~")
_USERINFO_OK = frozenset("-._:~!$&'()*+,;=%@")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class _URLError(Exception):
    """Why Go's ``url.Parse`` refuses a URL (its error text, without ``parse "<url>": ``)."""


def _host_needs_escape(byte: int) -> bool:
    """Go's ``shouldEscape(c, encodeHost)``."""
    return not (chr(byte).isascii() and chr(byte).isalnum()) and byte not in _HOST_OK


def _unescape(text: str, mode: str) -> str:
    """Go's ``unescape``: ``%XX`` decoded; ``host`` and ``zone`` also refuse some bytes.

    Raises:
        _URLError: ``invalid URL escape "%zz"`` or ``invalid character " " in host name``.
    """
    data = text.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == ord("%"):
            escape = data[i : i + 3]
            if i + 2 >= len(data) or data[i + 1] not in _HEX or data[i + 2] not in _HEX:
                raise _URLError(f"invalid URL escape {quote(escape)}")
            value = int(escape[1:], 16)
            if mode == "host" and value < 0x80 and escape != b"%25":
                raise _URLError(f"invalid URL escape {quote(escape)}")
            if mode == "zone" and escape != b"%25" and value != 0x20 and _host_needs_escape(value):
                raise _URLError(f"invalid URL escape {quote(escape)}")
            out.append(value)
            i += 3
            continue
        if mode in ("host", "zone") and byte < 0x80 and _host_needs_escape(byte):
            raise _URLError(f"invalid character {quote(bytes([byte]))} in host name")
        out.append(byte)
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _valid_optional_port(port: str) -> bool:
    """Go's ``validOptionalPort``: empty, or ``:`` and digits."""
    return port == "" or (port[0] == ":" and all("0" <= c <= "9" for c in port[1:]))


def _parse_host(host: str) -> str:
    """Go's ``parseHost``: the unescaped host (with its port).

    Raises:
        _URLError: a bad IP literal, port or character.
    """
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise _URLError("missing ']' in host")
        port = host[end + 1 :]
        if not _valid_optional_port(port):
            raise _URLError(f"invalid port {quote(port)} after host")
        zone = host[:end].find("%25")
        if zone >= 0:
            return (
                _unescape(host[:zone], "host")
                + _unescape(host[zone:end], "zone")
                + _unescape(host[end:], "host")
            )
    elif ":" in host:
        port = host[host.rfind(":") :]
        if not _valid_optional_port(port):
            raise _URLError(f"invalid port {quote(port)} after host")
    return _unescape(host, "host")


def _parse_authority(authority: str) -> str:
    """Go's ``parseAuthority``: the host of ``[userinfo@]host`` (userinfo checked).

    Raises:
        _URLError: a bad host or userinfo.
    """
    at = authority.rfind("@")
    host = _parse_host(authority[at + 1 :])
    if at >= 0:
        userinfo = authority[:at]
        if not all((c.isascii() and c.isalnum()) or c in _USERINFO_OK for c in userinfo):
            raise _URLError("net/url: invalid userinfo")
        for part in userinfo.split(":", 1):
            _unescape(part, "userinfo")
    return host


def _scheme(raw: str) -> tuple[str, str]:
    """Go's ``getscheme``: (scheme, rest); no scheme when the text does not start with one.

    Raises:
        _URLError: the text starts with ``:``.
    """
    for i, char in enumerate(raw):
        if char.isascii() and char.isalpha():
            continue
        if char in "0123456789+-.":
            if i == 0:
                return "", raw
            continue
        if char == ":":
            if i == 0:
                raise _URLError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def _parse(raw: str) -> tuple[str, str, str]:
    """Go's ``url.parse`` (not via a request): (scheme, host, path).

    Raises:
        _URLError: the reason the URL is refused.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise _URLError("net/url: invalid control character in URL")
    if raw == "*":
        return "", "", "*"
    scheme, rest = _scheme(raw)
    scheme = scheme.lower()
    # a lone trailing "?" is a ForceQuery; otherwise the query is cut off
    forced = rest.endswith("?") and rest.count("?") == 1
    rest = rest[:-1] if forced else rest.split("?", 1)[0]
    if not rest.startswith("/"):
        if scheme:
            return scheme, "", ""  # an opaque URL
        colon, slash = rest.find(":"), rest.find("/")
        if colon >= 0 and (slash < 0 or colon < slash):
            raise _URLError("first path segment in URL cannot contain colon")
    host = ""
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, sep, tail = rest[2:].partition("/")
        host = _parse_authority(authority)
        rest = sep + tail
    return scheme, host, _unescape(rest, "path")


def _split_host_port_ok(hostport: str) -> bool:
    """Whether Go's ``net.SplitHostPort`` accepts ``hostport``."""
    colon = hostport.rfind(":")
    if colon < 0:
        return False
    start, end = 0, 0
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0 or close + 1 != colon:
            return False
        start, end = 1, close + 1
    elif ":" in hostport[:colon]:
        return False
    return "[" not in hostport[start:] and "]" not in hostport[end:]


def _check_urls(urls: Sequence[str]) -> None:
    """Check peer URLs as clientv3 does before a member add or update (types.NewURLs).

    Raises:
        Exit: Go's ``url.Parse`` error, or the scheme, ``host:port`` or path rule (exit 1).
    """
    for url in urls:
        text = url.strip(_GO_SPACE)
        raw, _, fragment = text.partition("#")
        try:
            scheme, host, path = _parse(raw)
        except _URLError as exc:
            raise fail(ERROR, f"parse {quote(raw)}: {exc}") from None
        try:
            if fragment:
                _unescape(fragment, "fragment")
        except _URLError as exc:
            raise fail(ERROR, f"parse {quote(text)}: {exc}") from None
        if scheme not in ("http", "https", "unix", "unixs"):
            raise fail(ERROR, f"URL scheme must be http, https, unix, or unixs: {text}")
        if not _split_host_port_ok(host):
            raise fail(ERROR, f'URL address does not have the form "host:port": {text}')
        if path:
            raise fail(ERROR, f"URL must not contain a path: {text}")


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


def _header_pb(header: ResponseHeader) -> _pb.rpc.ResponseHeader:
    """The header message of a response view."""
    return _pb.rpc.ResponseHeader(
        cluster_id=header.cluster_id,
        member_id=header.member_id,
        revision=header.revision,
        raft_term=header.raft_term,
    )


def _member_pb(member: Member) -> _pb.rpc.Member:
    """The member message of a member view."""
    return _pb.rpc.Member(
        ID=member.id,
        name=member.name,
        peerURLs=member.peer_urls,
        clientURLs=member.client_urls,
        isLearner=member.is_learner,
    )


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
    _check_urls(urls)
    try:
        if inv.bool("learner"):
            resp = cli.member_add_as_learner(urls, timeout=timeout)
        else:
            resp = cli.member_add(urls, timeout=timeout)
    except EtcdError as exc:
        warn(inv, exc)
        raise fail(ERROR, go_error(exc)) from None
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
    pb = _pb.rpc.MemberAddResponse(
        header=_header_pb(resp.header),
        member=_member_pb(new),
        members=[_member_pb(m) for m in resp.members],
    )
    out.whole(pb)


def _remove(inv: Invocation) -> None:
    """``member remove <memberID>``."""
    member_id = _member_id(inv)
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    try:
        resp = cli.member_remove(member_id, timeout=timeout)
    except EtcdError as exc:
        warn(inv, exc)
        raise fail(ERROR, go_error(exc)) from None
    pb = _pb.rpc.MemberRemoveResponse(
        header=_header_pb(resp.header), members=[_member_pb(m) for m in resp.members]
    )
    _change_done(Out(inv), "removed from", member_id, resp.header, pb)


def _update(inv: Invocation) -> None:
    """``member update <memberID> --peer-urls=<urls>``."""
    member_id = _member_id(inv)
    _given, urls = _peer_urls(inv)
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    _check_urls(urls)
    try:
        resp = cli.member_update(member_id, urls, timeout=timeout)
    except EtcdError as exc:
        warn(inv, exc)
        raise fail(ERROR, go_error(exc)) from None
    pb = _pb.rpc.MemberUpdateResponse(
        header=_header_pb(resp.header), members=[_member_pb(m) for m in resp.members]
    )
    _change_done(Out(inv), "updated in", member_id, resp.header, pb)


def _promote(inv: Invocation) -> None:
    """``member promote <memberID>`` (every writer but simple panics in etcdctl)."""
    member_id = _member_id(inv)
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    try:
        resp = cli.member_promote(member_id, timeout=timeout)
    except EtcdError as exc:
        warn(inv, exc)
        raise fail(ERROR, go_error(exc)) from None
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
        warn(inv, exc)
        raise fail(ERROR, go_error(exc)) from None
    out = Out(inv)
    members = resp.members
    if out.kind == "simple":
        out.raw("".join(", ".join(row) + "\n" for row in _rows(members)))
    elif out.kind == "table":
        header = ["ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"]
        out.raw(render(header, _rows(members)))
    elif out.kind == "fields":
        out.header(_header_pb(resp.header))
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
        pb = _pb.rpc.MemberListResponse(
            header=_header_pb(resp.header), members=[_member_pb(m) for m in members]
        )
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
