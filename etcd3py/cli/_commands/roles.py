"""``etcdctl role``: add, delete, get, list, grant-permission and revoke-permission.

Every call is made without a timeout, as etcdctl makes them. A permission covers one key,
a range ``[key, endkey)``, a prefix (``--prefix``) or every key from ``key`` on
(``--from-key``); the empty key with either flag is every key.
"""

from __future__ import annotations

from etcd3py import Op, PermissionType
from etcd3py._pb import rpc
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._config import client
from etcd3py.cli._console import BAD_ARGS, fail
from etcd3py.cli._display import Out, header_only, show
from etcd3py.cli._failures import call
from etcd3py.cli._flags import Flag
from etcd3py.cli._gofmt import quote

__all__ = ["command", "show_role"]

#: The range end that means "every key from the start on" (and the key of the empty key).
_OPEN = b"\0"


def _name(inv: Invocation, what: str) -> str:
    """The one argument, the role name, else etcdctl's error for ``role <what>`` (128)."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, f"role {what} command requires role name as its argument")
    return inv.args[0]


def _raw(text: str) -> bytes:
    """An argument's bytes, as the OS gave them."""
    return text.encode("utf-8", "surrogateescape")


def _add(inv: Invocation) -> None:
    """role add: add a role."""
    role = _name(inv, "add")
    pb = call(inv, client(inv).role_add, role).to_pb()
    show(inv, pb, lambda out: out.raw(f"Role {role} created\n"), header_only(pb))


def _delete(inv: Invocation) -> None:
    """role delete: delete a role."""
    role = _name(inv, "delete")
    pb = call(inv, client(inv).role_delete, role).to_pb()
    show(inv, pb, lambda out: out.raw(f"Role {role} deleted\n"), header_only(pb))


def _get(inv: Invocation) -> None:
    """role get: a role's permissions."""
    role = _name(inv, "get")
    show_role(inv, role, call(inv, client(inv).role_get, role).to_pb())


def show_role(inv: Invocation, role: str, pb: rpc.AuthRoleGetResponse) -> None:
    """Print a role's permissions with the invocation's writer (``role get``, ``user get``)."""

    def simple(out: Out) -> None:
        """The read permissions, then the write ones."""
        out.raw(f"Role {role}\nKV Read:\n")
        _simple_perms(out, pb, (PermissionType.READ, PermissionType.READWRITE))
        out.raw("KV Write:\n")
        _simple_perms(out, pb, (PermissionType.WRITE, PermissionType.READWRITE))

    def fields(out: Out) -> None:
        """The header, then each permission's type, key and range end."""
        out.header(pb.header)
        for perm in pb.perm:
            out.raw(f'"PermType" :  {PermissionType(perm.permType).name}\n')
            out.raw(f'"Key" : {quote(perm.key)}\n"RangeEnd" : {quote(perm.range_end)}\n')

    show(inv, pb, simple, fields)


def _simple_perms(out: Out, pb: rpc.AuthRoleGetResponse, kinds: tuple[int, ...]) -> None:
    """The simple writer's lines of the permissions of ``kinds``, in the response's order."""
    for perm in pb.perm:
        if perm.permType not in kinds:
            continue
        key, end = perm.key, perm.range_end
        if not end:
            out.raw(b"\t" + key + b"\n")
            continue
        line = b"\t[" + key + (b", " + end + b")" if end != _OPEN else b", <open ended>")
        if Op.get(key, prefix=True).range_end == end:
            line += b" (prefix " + key + b")"
        out.raw(line + b"\n")


def _list(inv: Invocation) -> None:
    """role list: every role, one a line."""
    if inv.args:
        raise fail(BAD_ARGS, "role list command requires no arguments")
    pb = call(inv, client(inv).role_list).to_pb()

    def fields(out: Out) -> None:
        """The header, then the roles quoted on one line."""
        out.header(pb.header)
        out.raw('"Roles" :' + "".join(f" {quote(role)}" for role in pb.roles) + "\n")

    show(inv, pb, lambda out: out.raw("".join(f"{role}\n" for role in pb.roles)), fields)


def _perm_type(text: str) -> PermissionType:
    """``read``, ``write`` or ``readwrite`` in any case, else etcdctl's error (128)."""
    try:
        return PermissionType[text.upper()]
    except KeyError:
        raise fail(BAD_ARGS, f"invalid permission type: {text}") from None


def _range(inv: Invocation, args: list[str]) -> tuple[bytes, bytes]:
    """The key and range end ``<key> [endkey]`` and ``--prefix`` / ``--from-key`` name.

    Raises:
        Exit: both flags, or an end key with one of them (128).
    """
    prefix, from_key = inv.bool("prefix"), inv.bool("from-key")
    key = _raw(args[0])
    if (not key or len(args) == 1) and prefix and from_key:
        raise fail(BAD_ARGS, "--from-key and --prefix flags are mutually exclusive")
    if not key:  # the key "\0"; with either flag every key (the end key is ignored)
        return _OPEN, _OPEN if prefix or from_key else b""
    if len(args) == 1:
        if prefix:
            return key, Op.get(key, prefix=True).range_end
        return key, _OPEN if from_key else b""
    for name, given in (("--prefix", prefix), ("--from-key", from_key)):
        if given:
            raise fail(BAD_ARGS, f"unexpected endkey argument with {name} flag")
    return key, _raw(args[1])


def _grant(inv: Invocation) -> None:
    """role grant-permission: let a role read and/or write a key, range or prefix."""
    args = inv.args
    if len(args) < 3:
        raise fail(
            BAD_ARGS,
            "role grant command requires role name, permission type, and key [endkey] as its "
            "argument",
        )
    perm = _perm_type(args[1])
    key, end = _range(inv, args[2:])
    cli = client(inv)
    resp = call(inv, cli.role_grant_permission, args[0], key, perm, range_end=end or None)
    pb = resp.to_pb()
    show(inv, pb, lambda out: out.raw(f"Role {args[0]} updated\n"), header_only(pb))


def _revoke(inv: Invocation) -> None:
    """role revoke-permission: take a permission back from a role."""
    args = inv.args
    if len(args) < 2:
        raise fail(
            BAD_ARGS,
            "role revoke-permission command requires role name and key [endkey] as its argument",
        )
    key, end = _range(inv, args[1:])
    cli = client(inv)
    pb = call(inv, cli.role_revoke_permission, args[0], key, range_end=end or None).to_pb()
    shown = _raw(args[1])
    if not end:
        text = b"Permission of key " + shown
    elif end != _OPEN:
        text = b"Permission of range [" + shown + b", " + end + b")"
    else:
        text = b"Permission of range [" + shown + b", <open ended>"
    text += b" is revoked from role " + _raw(args[0]) + b"\n"
    show(inv, pb, lambda out: out.raw(text), header_only(pb))


def _range_flags(verb: str) -> list[Flag]:
    """``--prefix`` and ``--from-key`` of grant-permission / revoke-permission."""
    return [
        Flag("prefix", "bool", False, f"{verb} a prefix permission"),
        Flag(
            "from-key",
            "bool",
            False,
            f"{verb} a permission of keys that are greater than or equal to the given key "
            "using byte compare",
        ),
    ]


def command() -> Command:
    """``role`` and its subcommands."""
    return Command(
        "role <subcommand>",
        "Role related commands",
        children=[
            Command("add <role name>", "Adds a new role", run=_add),
            Command("delete <role name>", "Deletes a role", run=_delete),
            Command("get <role name>", "Gets detailed information of a role", run=_get),
            Command("list", "Lists all roles", run=_list),
            Command(
                "grant-permission [options] <role name> <permission type> <key> [endkey]",
                "Grants a key to a role",
                run=_grant,
                flags=_range_flags("grant"),
            ),
            Command(
                "revoke-permission <role name> <key> [endkey]",
                "Revokes a key from a role",
                run=_revoke,
                flags=_range_flags("revoke"),
            ),
        ],
    )
