"""What every writer shares: key-value lines, ``fields`` blocks, JSON and protobuf output, errors.

etcdctl's ``-w`` picks one of five writers (simple, json, fields, table, protobuf). Each
command module says how its responses look in each; this module holds the pieces they all
use, so a key line, a header block or an error's wording is written in one place.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message

from etcd3py.cli._command import Invocation
from etcd3py.cli._config import Settings, settings
from etcd3py.cli._console import BAD_FEATURE, Console, Exit, GoPanic, fail
from etcd3py.cli._gofmt import quote
from etcd3py.cli._gojson import dumps, message

__all__ = ["GoNilPanic", "Out", "header_only", "show", "unsupported"]


def unsupported(writer: str) -> Exit:
    """etcdctl's refusal of a writer a display does not have (exit 4); raise it."""
    return fail(BAD_FEATURE, f"{writer} not supported as output format")


class Out:
    """The invocation's writer: its kind, ``--hex``, and the console it writes to."""

    def __init__(self, inv: Invocation, conf: Settings | None = None) -> None:
        """Take the writer the global flags name (reading them if not read yet)."""
        conf = conf or settings(inv)
        self.console: Console = inv.console
        self.kind = conf.write_out
        self.hex = conf.hex

    def line(self, *parts: object) -> None:
        """Go ``fmt.Println(parts...)`` to stdout: parts joined by one space, then newline."""
        self.console.out(" ".join(_text(p) for p in parts) + "\n")

    def raw(self, data: str | bytes) -> None:
        """Write ``data`` to stdout as it is."""
        self.console.out(data)

    def bytes_line(self, data: bytes) -> None:
        """A key or value line of the simple writer (``\\x66\\x6f`` with ``--hex``)."""
        if self.hex:
            self.console.out("".join(f"\\x{b:02x}" for b in data) + "\n")
        else:
            self.console.out(data + b"\n")

    def kv(self, key: bytes, value: bytes, *, value_only: bool = False) -> None:
        """etcdctl's printKV: the key line (unless ``value_only``), then the value line."""
        if not value_only:
            self.bytes_line(key)
        self.bytes_line(value)

    def header(self, header: Message | None) -> None:
        """The ``fields`` writer's header block (ClusterID, MemberID, Revision, RaftTerm)."""
        if header is None:
            raise GoNilPanic()
        self.line('"ClusterID" :', header.cluster_id)  # type: ignore[attr-defined]
        self.line('"MemberID" :', header.member_id)  # type: ignore[attr-defined]
        self.line('"Revision" :', header.revision)  # type: ignore[attr-defined]
        self.line('"RaftTerm" :', header.raft_term)  # type: ignore[attr-defined]

    def fields_kv(self, kv: Message, prefix: str = "") -> None:
        """The ``fields`` writer's key-value block, names prefixed (``"PrevKey"``)."""
        p = prefix
        self.raw(f'"{p}Key" : {quote(kv.key)}\n')  # type: ignore[attr-defined]
        self.raw(f'"{p}CreateRevision" : {kv.create_revision}\n')  # type: ignore[attr-defined]
        self.raw(f'"{p}ModRevision" : {kv.mod_revision}\n')  # type: ignore[attr-defined]
        self.raw(f'"{p}Version" : {kv.version}\n')  # type: ignore[attr-defined]
        self.raw(f'"{p}Value" : {quote(kv.value)}\n')  # type: ignore[attr-defined]
        self.raw(f'"{p}Lease" : {kv.lease}\n')  # type: ignore[attr-defined]

    def json(self, value: object) -> None:
        """The ``json`` writer: Go's encoding of ``value`` (a message or a tree), newline."""
        tree = message(value) if isinstance(value, Message) else value
        self.raw(dumps(tree) + "\n")

    def whole(self, msg: Message) -> None:
        """The json and protobuf writers' output of a response: the message itself.

        Raises:
            Exit: any other writer (``<kind> not supported as output format``, exit 4).
        """
        if self.kind == "json":
            self.json(msg)
        elif self.kind == "protobuf":
            self.protobuf(msg)
        else:
            raise unsupported(self.kind)

    def protobuf(self, msg: Message) -> None:
        """The ``protobuf`` writer: the message's wire bytes, no newline."""
        self.raw(msg.SerializeToString())


class GoNilPanic(GoPanic):
    """etcdctl dereferences a nil pointer here (exit 2, after the call was made)."""

    def __init__(self) -> None:
        """The panic of a nil pointer dereference."""
        super().__init__(
            "runtime error: invalid memory address or nil pointer dereference",
            # Go's line names the faulting address and instruction of its own binary
            signal="SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0",
        )


def _text(part: object) -> str:
    if isinstance(part, bool):
        return "true" if part else "false"
    if isinstance(part, bytes):
        return part.decode("utf-8", "surrogateescape")
    if isinstance(part, list):
        return "[" + " ".join(_text(p) for p in part) + "]"
    return str(part)


def show(
    inv: Invocation,
    pb: Message,
    simple: Callable[[Out], None],
    fields: Callable[[Out], None] | None = None,
) -> None:
    """Print a response with the invocation's writer.

    Args:
        inv: the invocation.
        pb: the response message (json and protobuf writers print it).
        simple: what the simple writer prints.
        fields: what the fields writer prints; None: it does not support the response.

    Raises:
        Exit: the writer does not support the response (exit 4).
    """
    out = Out(inv)
    if out.kind == "simple":
        simple(out)
    elif out.kind == "fields" and fields is not None:
        fields(out)
    else:
        out.whole(pb)


def header_only(pb: Message) -> Callable[[Out], None]:
    """The fields writer of a response that has only a header: its header block."""

    def write(out: Out) -> None:
        """The header block."""
        out.header(pb.header)  # type: ignore[attr-defined]

    return write
