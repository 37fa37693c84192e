"""Go 1.16 ``encoding/json`` as etcdctl's json writer produces it, for trees and messages.

:func:`dumps` writes compact JSON with Go's HTML-safe string escaping, ``bytes`` as base64
and integers exact. :func:`message` turns an etcd API protobuf message into the tree
``json.Marshal`` sees for its gogo-protobuf Go struct (proto field names as keys, every
field ``omitempty``, enums as numbers, a oneof under its Go field name).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Protocol

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

__all__ = ["Raw", "dumps", "go_string", "message"]


class Raw(str):
    """Pre-encoded JSON that :func:`dumps` inserts verbatim."""

    __slots__ = ()


#: Bytes Go escapes other than as ``\\u00XX``; ``<``, ``>``, ``&`` because HTML-safe
#: escaping is on.
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES = {
    **{chr(code): f"\\u{code:04x}" for code in range(0x20)},
    **{ch: f"\\u{ord(ch):04x}" for ch in "<>&\u2028\u2029"},
    **_SHORT,
}


def _escape(text: str) -> str:
    """Return the JSON string literal Go writes for ``text`` (lone surrogates as U+FFFD)."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif "\ud800" <= ch <= "\udfff":  # an undecodable byte (surrogateescape) or worse
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_string(s: str | bytes) -> str:
    """Return the JSON literal Go writes for a Go ``string`` holding ``s``.

    ``bytes`` are the string's bytes (not base64): invalid UTF-8 becomes ``\\ufffd``.
    """
    if isinstance(s, bytes):
        s = s.decode("utf-8", "surrogateescape")
    return _escape(s)


def _encode(value: object, out: list[str]) -> None:
    """Append the JSON of ``value`` to ``out``."""
    if isinstance(value, Raw):
        out.append(value)
    elif isinstance(value, str):
        out.append(_escape(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out.append('"' + base64.b64encode(value).decode("ascii") + '"')
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
            out.append(("," if index else "") + _escape(key) + ":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as Go JSON")


def dumps(value: object) -> str:
    """Return Go's compact ``json.Marshal`` text of a tree (no trailing newline).

    A tree is ``dict`` (keys ``str``, in insertion order, as a Go struct's fields), ``list``
    or ``tuple``, ``None`` (``null``), ``bool``, ``int`` (exact), ``str``, ``bytes``
    (standard base64 with padding, as Go writes ``[]byte``) or :class:`Raw`.

    Raises:
        TypeError: for any other type (floats included: etcdctl prints none).
    """
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def _go_field_name(name: str) -> str:
    """The Go name protoc-gen-gogo gives a oneof field: ``target_union`` -> ``TargetUnion``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class _Field(Protocol):
    """What this module reads of a field descriptor (pure-Python or upb)."""

    @property
    def name(self) -> str:
        """The proto field name."""

    @property
    def type(self) -> int:
        """The field's ``FieldDescriptor.TYPE_*``."""


def _is_repeated(field: _Field) -> bool:
    """Whether ``field`` is repeated (protobuf < 5.29 has ``label`` only)."""
    flag = getattr(field, "is_repeated", None)
    if flag is None:
        return bool(getattr(field, "label") == FieldDescriptor.LABEL_REPEATED)  # noqa: B009
    return bool(flag)


def _scalar(field: _Field, value: object) -> object:
    """The tree value of one non-repeated field value (messages recurse)."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        assert isinstance(value, Message)
        return message(value)
    return value  # int (enums too), bool, str, bytes


def message(msg: Message) -> dict[str, object]:
    """Return the tree Go's ``json.Marshal`` sees for the gogo struct of etcd message ``msg``.

    Fields in declaration order under their proto names, each ``omitempty``: a zero
    scalar, an empty repeated field and an unset message are left out (a set empty message
    is ``{}``). ``bytes`` stay ``bytes`` (base64 in :func:`dumps`), enums are numbers. A
    oneof is one key, its Go field name (``Response``), never left out (``None`` when
    unset), whose value is ``{<set field's proto name>: <value>}``.
    """
    descriptor = msg.DESCRIPTOR
    tree: dict[str, object] = {}
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None:
            key = _go_field_name(oneof.name)
            if key not in tree:
                chosen = msg.WhichOneof(oneof.name)
                tree[key] = (
                    None
                    if chosen is None
                    else {chosen: _scalar(descriptor.fields_by_name[chosen], getattr(msg, chosen))}
                )
            continue
        value = getattr(msg, field.name)
        if _is_repeated(field):
            if len(value):
                tree[field.name] = [_scalar(field, item) for item in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if msg.HasField(field.name):
                tree[field.name] = message(value)
        elif value:
            tree[field.name] = value
    return tree
