"""``etcdctl user``: add, delete, get, list, passwd, grant-role and revoke-role.

Every call is made without a timeout, as etcdctl makes them. A password not given on the
command line is asked for twice on the terminal (bgentry/speakeasy: the prompt on stdout,
echo turned off with ``stty``), or with ``--interactive=false`` read as one word from stdin.
"""

from __future__ import annotations

import codecs

from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._commands.roles import show_role
from etcd3py.cli._config import ask_password, client
from etcd3py.cli._console import BAD_ARGS, Console, Exit, fail
from etcd3py.cli._display import Out, header_only, show
from etcd3py.cli._failures import call
from etcd3py.cli._flags import Flag

__all__ = ["command"]

#: The runes Go's fmt scanning counts as space (fmt/scan.go's table).
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)


def _add(inv: Invocation) -> None:
    """user add: add a user, with a password from the argument, a flag or stdin, or none."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "user add command requires user name as its argument")
    arg = inv.args[0]
    password: str | None = None
    if inv.bool("no-password"):
        user = arg
    elif inv.str("new-user-password"):
        user, password = arg, inv.str("new-user-password")
    elif ":" in arg:
        user, _, password = arg.partition(":")
        if not user:
            raise fail(BAD_ARGS, "empty user name is not allowed")
    else:
        user, password = arg, _new_password(inv, arg)
    cli = client(inv)
    pb = call(inv, cli.user_add, user, password, no_password=password is None).to_pb()
    show(inv, pb, lambda out: out.raw(f"User {user} created\n"), header_only(pb))


def _new_password(inv: Invocation, name: str) -> str:
    """The password of ``name``: one word of stdin, or asked twice (``--interactive``).

    Raises:
        Exit: the prompt failed, the first answer was empty, or the two differ (128).
    """
    if not inv.bool("interactive"):
        return _scan_word(inv.console)
    first = _ask(inv.console, f"Password of {name}: ")
    if not first:
        raise fail(BAD_ARGS, "empty password")
    second = _ask(inv.console, f"Type password of {name} again for confirmation: ")
    if first != second:
        raise fail(BAD_ARGS, "given passwords are different")
    return first


def _ask(console: Console, prompt: str) -> str:
    """One speakeasy prompt; its failure is etcdctl's ``failed to ask password`` (128)."""
    try:
        return ask_password(console, prompt)
    except Exit as exc:
        raise fail(BAD_ARGS, f"failed to ask password: {exc.message}") from None


def _scan_word(console: Console) -> str:
    """Go's ``fmt.Scanf("%s", &password)`` on stdin, errors ignored.

    Spaces before the word are skipped, but a newline (or end of input) there means no
    word: the password is empty. The word ends at a space or at the end of input.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    word: list[str] = []
    while True:
        byte = console.stdin.read(1)
        char = decoder.decode(byte, final=not byte)
        if not byte and not char:
            return "".join(word)
        if not char:
            continue
        if char in _GO_SPACE:
            if word:
                return "".join(word)
            if char == "\n":
                return ""
            continue
        word.append(char)


def _delete(inv: Invocation) -> None:
    """user delete: delete a user."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "user delete command requires user name as its argument")
    name = inv.args[0]
    pb = call(inv, client(inv).user_delete, name).to_pb()
    show(inv, pb, lambda out: out.raw(f"User {name} deleted\n"), header_only(pb))


def _get(inv: Invocation) -> None:
    """user get: a user's roles, or with ``--detail`` each role's permissions."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "user get command requires user name as its argument")
    name = inv.args[0]
    cli = client(inv)
    pb = call(inv, cli.user_get, name).to_pb()
    if inv.bool("detail"):
        inv.console.out(f"User: {name}\n")
        for role in pb.roles:
            inv.console.out("\n")
            show_role(inv, role, call(inv, cli.role_get, role).to_pb())
        return

    def simple(out: Out) -> None:
        """The user's name, then its roles on one line."""
        out.raw(f"User: {name}\nRoles:" + "".join(f" {role}" for role in pb.roles) + "\n")

    show(inv, pb, simple)


def _list(inv: Invocation) -> None:
    """user list: every user, one a line."""
    if inv.args:
        raise fail(BAD_ARGS, "user list command requires no arguments")
    pb = call(inv, client(inv).user_list).to_pb()
    show(inv, pb, lambda out: out.raw("".join(f"{user}\n" for user in pb.users)))


def _passwd(inv: Invocation) -> None:
    """user passwd: change a user's password (asked for, or read from stdin)."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "user passwd command requires user name as its argument")
    name = inv.args[0]
    password = _new_password(inv, name)
    pb = call(inv, client(inv).user_change_password, name, password).to_pb()
    show(inv, pb, lambda out: out.raw("Password updated\n"), header_only(pb))


def _grant_role(inv: Invocation) -> None:
    """user grant-role: grant a role to a user."""
    if len(inv.args) != 2:
        raise fail(BAD_ARGS, "user grant command requires user name and role name as its argument")
    user, role = inv.args
    pb = call(inv, client(inv).user_grant_role, user, role).to_pb()
    show(inv, pb, lambda out: out.raw(f"Role {role} is granted to user {user}\n"), header_only(pb))


def _revoke_role(inv: Invocation) -> None:
    """user revoke-role: revoke a role from a user."""
    if len(inv.args) != 2:
        raise fail(BAD_ARGS, "user revoke-role requires user name and role name as its argument")
    user, role = inv.args
    pb = call(inv, client(inv).user_revoke_role, user, role).to_pb()
    text = f"Role {role} is revoked from user {user}\n"
    show(inv, pb, lambda out: out.raw(text), header_only(pb))


def command() -> Command:
    """``user`` and its subcommands."""
    return Command(
        "user <subcommand>",
        "User related commands",
        children=[
            Command(
                "add <user name or user:password> [options]",
                "Adds a new user",
                run=_add,
                flags=[
                    Flag(
                        "interactive",
                        "bool",
                        True,
                        "Read password from stdin instead of interactive terminal",
                    ),
                    Flag(
                        "new-user-password",
                        "string",
                        "",
                        "Supply password from the command line flag",
                    ),
                    Flag(
                        "no-password",
                        "bool",
                        False,
                        "Create a user without password (CN based auth only)",
                    ),
                ],
            ),
            Command("delete <user name>", "Deletes a user", run=_delete),
            Command(
                "get <user name> [options]",
                "Gets detailed information of a user",
                run=_get,
                flags=[
                    Flag("detail", "bool", False, "Show permissions of roles granted to the user")
                ],
            ),
            Command("list", "Lists all users", run=_list),
            Command(
                "passwd <user name> [options]",
                "Changes password of user",
                run=_passwd,
                flags=[
                    Flag(
                        "interactive",
                        "bool",
                        True,
                        "If true, read password from stdin instead of interactive terminal",
                    )
                ],
            ),
            Command(
                "grant-role <user name> <role name>", "Grants a role to a user", run=_grant_role
            ),
            Command(
                "revoke-role <user name> <role name>",
                "Revokes a role from a user",
                run=_revoke_role,
            ),
        ],
    )
