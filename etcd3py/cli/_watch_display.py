"""The watch writers: clientv3's ``WatchResponse`` as etcdctl's five writers print it.

etcdctl prints the ``WatchResponse`` of clientv3, not the protobuf message the server sent:
a struct whose header is a value (``{}`` when empty), whose events are ``null`` for a
response clientv3 made itself (the last one of a watch that failed) and ``[]`` for one the
server sent without events, and which has no ``watch_id`` nor ``cancel_reason``.
:class:`WatchView` is that struct; :func:`show_watch` prints it with the ``-w`` writer.
"""

from __future__ import annotations

import dataclasses

from etcd3py import _pb
from etcd3py.cli._display import Out, unsupported
from etcd3py.cli._gojson import message

__all__ = ["WatchView", "show_watch"]

_TYPE_NAMES = {_pb.kv.Event.PUT: "PUT", _pb.kv.Event.DELETE: "DELETE"}


@dataclasses.dataclass(frozen=True)
class WatchView:
    """clientv3's ``WatchResponse``, as etcdctl's writers see it.

    Attributes:
        header: the response header (empty for a response clientv3 made itself).
        events: the events; ``None`` (Go's nil slice) for a response clientv3 made itself.
        compact_revision: the compaction revision that ended the watch, or 0.
        canceled: whether the watch ended with this response.
        created: whether this is the server's answer to the creation.
    """

    header: _pb.rpc.ResponseHeader
    events: list[_pb.kv.Event] | None
    compact_revision: int = 0
    canceled: bool = False
    created: bool = False

    @classmethod
    def of(cls, response: _pb.rpc.WatchResponse) -> WatchView:
        """The response clientv3 hands out for one the server sent."""
        return cls(
            header=response.header,
            events=list(response.events),
            compact_revision=response.compact_revision,
            canceled=response.canceled,
            created=response.created,
        )

    @classmethod
    def closing(cls) -> WatchView:
        """The last response clientv3 makes itself for a watch that failed (``closeErr``)."""
        return cls(header=_pb.rpc.ResponseHeader(), events=None, canceled=True)

    def is_progress_notify(self) -> bool:
        """clientv3's ``IsProgressNotify``: no events, no notice, a store revision."""
        return (
            not self.events
            and not self.canceled
            and not self.created
            and self.compact_revision == 0
            and self.header.revision != 0
        )


def show_watch(out: Out, view: WatchView) -> None:
    """Print one watch response with the invocation's writer (etcdctl's ``display.Watch``).

    Raises:
        Exit: the ``table`` writer, which has no watch output (exit 4).
    """
    if out.kind == "simple":
        for event in view.events or ():
            out.line(_TYPE_NAMES.get(event.type, str(event.type)))
            if event.HasField("prev_kv"):
                out.kv(event.prev_kv.key, event.prev_kv.value)
            out.kv(event.kv.key, event.kv.value)
    elif out.kind == "json":
        out.json(
            {
                "Header": message(view.header),
                "Events": None if view.events is None else [message(e) for e in view.events],
                "CompactRevision": view.compact_revision,
                "Canceled": view.canceled,
                "Created": view.created,
            }
        )
    elif out.kind == "fields":
        out.header(view.header)
        for event in view.events or ():
            out.line('"Type" :', _TYPE_NAMES.get(event.type, str(event.type)))
            if event.HasField("prev_kv"):
                out.fields_kv(event.prev_kv, "Prev")
            out.fields_kv(event.kv)
    elif out.kind == "protobuf":
        response = _pb.rpc.WatchResponse(
            compact_revision=view.compact_revision,
            canceled=view.canceled,
            created=view.created,
        )
        response.header.CopyFrom(view.header)  # always present, as the Go pointer is
        response.events.extend(view.events or ())
        out.protobuf(response)
    else:
        raise unsupported(out.kind)
