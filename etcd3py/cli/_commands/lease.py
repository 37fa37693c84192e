"""``etcdctl lease grant|revoke|timetolive|list|keep-alive``.

The lease responses clientv3 hands etcdctl are its own structs: the response header is
embedded, so the ``json`` writer flattens its fields into the object and the ``protobuf``
writer marshals the header alone; ``lease revoke`` has no ``Marshal`` at all. The simple
writer prints lease IDs as ``%016x``.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message

from etcd3py import _pb
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._config import client, seconds
from etcd3py.cli._console import BAD_ARGS, BAD_CONNECTION, BAD_FEATURE, ERROR, fail
from etcd3py.cli._display import Out, unsupported
from etcd3py.cli._failures import go_error, warn
from etcd3py.cli._flags import Flag
from etcd3py.cli._gofmt import GoNumError, parse_int, quote
from etcd3py.cli._gojson import message
from etcd3py.errors import EtcdError

__all__ = ["commands"]


# ---- writers ------------------------------------------------------------------------------


def _hex(lease: int) -> str:
    """Go's ``%016x`` of an int64 lease ID (a minus sign counts in the width)."""
    return f"{lease:016x}"


def _header(pb: Message) -> _pb.rpc.ResponseHeader | None:
    """The response's header, or None when the server sent none (a nil pointer in Go)."""
    return pb.header if pb.HasField("header") else None  # type: ignore[attr-defined]


def _show(
    out: Out,
    pb: Message,
    simple: str | bytes,
    fields: Sequence[tuple[str, object]],
    tree: dict[str, object],
) -> None:
    """Print a clientv3 lease response, whose ``*pb.ResponseHeader`` is embedded.

    Args:
        out: the writer.
        pb: the response message (its header is used).
        simple: the simple writer's text.
        fields: the ``fields`` writer's lines after the header block (name, value).
        tree: the JSON fields after the flattened header.
    """
    header = _header(pb)
    if out.kind == "simple":
        out.raw(simple)
    elif out.kind == "fields":
        out.header(header)
        for name, value in fields:
            if isinstance(value, bytes):
                out.raw(f'"{name}" : {quote(value)}\n')
            else:
                out.line(f'"{name}" :', value)
    elif out.kind == "json":
        flat = message(header) if header is not None else {}
        out.json({**flat, **tree})
    elif out.kind == "protobuf":
        out.protobuf(header if header is not None else _pb.rpc.ResponseHeader())
    else:
        raise unsupported(out.kind)


def _show_keep_alive(out: Out, pb: _pb.rpc.LeaseKeepAliveResponse) -> None:
    """One renewal, as every writer prints it."""
    _show(
        out,
        pb,
        f"lease {_hex(pb.ID)} keepalived with TTL({pb.TTL})\n",
        [("ID", pb.ID), ("TTL", pb.TTL)],
        {"ID": pb.ID, "TTL": pb.TTL},
    )


def _compact_text(header: _pb.rpc.ResponseHeader | None) -> str:
    """gogo's ``CompactTextString`` of a header, as ``%v`` prints a ``*ResponseHeader``."""
    if header is None:
        return "<nil>"
    names = ("cluster_id", "member_id", "revision", "raft_term")
    return "".join(f"{name}:{getattr(header, name)} " for name in names if getattr(header, name))


# ---- arguments ----------------------------------------------------------------------------


def _lease_id(arg: str) -> int:
    """The lease ID argument, hexadecimal (etcdctl's leaseFromArgs).

    Raises:
        Exit: not an int64 in hex (128).
    """
    try:
        return parse_int(arg, 16)
    except GoNumError as exc:
        raise fail(BAD_ARGS, f"bad lease ID arg ({exc}), expecting ID in Hex") from None


# ---- commands -----------------------------------------------------------------------------


def _grant(inv: Invocation) -> None:
    """``lease grant <ttl>``."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "lease grant command needs TTL argument")
    try:
        ttl = parse_int(inv.args[0], 10)
    except GoNumError as exc:
        raise fail(BAD_ARGS, f"bad TTL ({exc})") from None
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    try:
        pb = cli.grant(ttl, timeout=timeout).to_pb()
    except EtcdError as exc:
        warn(inv, exc)
        raise fail(ERROR, f"failed to grant lease ({go_error(exc)})") from None
    _show(
        Out(inv),
        pb,
        f"lease {_hex(pb.ID)} granted with TTL({pb.TTL}s)\n",
        [("ID", pb.ID), ("TTL", pb.TTL)],
        {"ID": pb.ID, "TTL": pb.TTL, "Error": pb.error},
    )


def _revoke(inv: Invocation) -> None:
    """``lease revoke <leaseID>``."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "lease revoke command needs 1 argument")
    lease = _lease_id(inv.args[0])
    timeout = seconds(inv.int("command-timeout"))
    cli = client(inv)
    try:
        pb = cli.revoke(lease, timeout=timeout).to_pb()
    except EtcdError as exc:
        warn(inv, exc)
        raise fail(ERROR, f"failed to revoke lease ({go_error(exc)})") from None
    out = Out(inv)
    if out.kind == "simple":
        out.raw(f"lease {_hex(lease)} revoked\n")
    elif out.kind == "fields":
        out.header(_header(pb))
    elif out.kind == "json":
        out.json(pb)
    elif out.kind == "protobuf":
        # clientv3's LeaseRevokeResponse is a plain struct: no Marshal method
        shown = f"{{{_compact_text(_header(pb))} {{}} [] 0}}"
        raise fail(
            BAD_FEATURE, f"marshal unsupported for type clientv3.LeaseRevokeResponse ({shown})"
        )
    else:
        raise unsupported(out.kind)


def _time_to_live(inv: Invocation) -> None:
    """``lease timetolive <leaseID> [--keys]`` (the ID is read after the client is made)."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "lease timetolive command needs lease ID as argument")
    keys = inv.bool("keys")
    cli = client(inv)
    lease = _lease_id(inv.args[0])
    try:
        pb = cli.time_to_live(lease, keys=keys).to_pb()
    except EtcdError as exc:
        warn(inv, exc)
        raise fail(BAD_CONNECTION, go_error(exc)) from None
    if pb.grantedTTL == 0 and pb.TTL == -1:
        simple: str | bytes = f"lease {_hex(pb.ID)} already expired\n"
    else:
        text = f"lease {_hex(pb.ID)} granted with TTL({pb.grantedTTL}s), remaining({pb.TTL}s)"
        simple = text.encode()
        if keys:
            simple += b", attached keys([" + b" ".join(pb.keys) + b"])"
        simple += b"\n"
    _show(
        Out(inv),
        pb,
        simple,
        [("ID", pb.ID), ("TTL", pb.TTL), ("GrantedTTL", pb.grantedTTL)]
        + [("Key", key) for key in pb.keys],
        {
            "id": pb.ID,
            "ttl": pb.TTL,
            "granted-ttl": pb.grantedTTL,
            "keys": list(pb.keys) if pb.keys else None,
        },
    )


def _list(inv: Invocation) -> None:
    """``lease list``."""
    cli = client(inv)
    try:
        pb = cli.leases().to_pb()
    except EtcdError as exc:
        warn(inv, exc)
        raise fail(BAD_CONNECTION, go_error(exc)) from None
    ids = [status.ID for status in pb.leases]
    _show(
        Out(inv),
        pb,
        f"found {len(ids)} leases\n" + "".join(f"{_hex(lease)}\n" for lease in ids),
        [("ID", lease) for lease in ids],
        {"leases": [{"id": lease} for lease in ids]},
    )


def _keep_alive(inv: Invocation) -> None:
    """``lease keep-alive [--once] <leaseID>``: one renewal, or every renewal until the
    lease is gone (Ctrl-C ends it at once: no handler is installed)."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "lease keep-alive command needs lease ID as argument")
    lease = _lease_id(inv.args[0])
    cli = client(inv)
    if inv.bool("once"):
        try:
            renewal = cli.keep_alive_once(lease)
        except EtcdError as exc:
            raise fail(BAD_CONNECTION, go_error(exc)) from None
        _show_keep_alive(Out(inv), renewal.to_pb())
        return
    out = Out(inv)
    try:
        keep_alive = cli.keep_alive(lease)
    except EtcdError as exc:
        raise fail(BAD_CONNECTION, go_error(exc)) from None
    with keep_alive:
        try:
            for renewal in keep_alive:
                _show_keep_alive(out, renewal.to_pb())
        except EtcdError:
            pass  # clientv3 closes the channel however the keep-alive ends
    if out.kind == "simple":
        out.raw(f"lease {_hex(lease)} expired or revoked.\n")


def commands() -> list[Command]:
    """``lease`` and its subcommands."""
    return [
        Command(
            "lease <subcommand>",
            "Lease related commands",
            children=[
                Command("grant <ttl>", "Creates leases", run=_grant),
                Command("revoke <leaseID>", "Revokes leases", run=_revoke),
                Command(
                    "timetolive <leaseID> [options]",
                    "Get lease information",
                    run=_time_to_live,
                    flags=[Flag("keys", "bool", False, "Get keys attached to this lease")],
                ),
                Command("list", "List all active leases", run=_list),
                Command(
                    "keep-alive [options] <leaseID>",
                    "Keeps leases alive (renew)",
                    run=_keep_alive,
                    flags=[
                        Flag(
                            "once",
                            "bool",
                            False,
                            "Resets the keep-alive time to its original value and "
                            "cobrautl.Exits immediately",
                        )
                    ],
                ),
            ],
        )
    ]
