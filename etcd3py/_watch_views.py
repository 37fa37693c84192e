"""Read-only views of watch responses and events over their protobuf messages.

:class:`WatchResponse` and :class:`Event` wrap the messages the stream received without
copying them (a 50,000-event replay is a hot path); ``etcd3py.watch`` re-exports both. No
I/O, no threads.
"""

from __future__ import annotations

from typing_extensions import Self

from etcd3py import _pb
from etcd3py._pb_field import pb_field, wrap_all
from etcd3py._watch_mux import watch_error
from etcd3py.models import EventType, KeyValue, ResponseHeader

__all__ = ["Event", "WatchResponse"]


class Event:
    """One change of one key, read-only.

    Attributes:
        type: ``EventType.PUT`` or ``EventType.DELETE``.
        kv: the key-value after the change (for a DELETE: the key and the delete's revision).
        prev_kv: the key-value before the change, with ``prev_kv=True`` and when it existed.
    """

    __slots__ = ("_pb",)

    def __init__(self, pb: _pb.kv.Event) -> None:
        self._pb = pb

    @classmethod
    def from_pb(cls, pb: _pb.kv.Event) -> Event:
        """Wrap an ``mvccpb.Event`` (the view shares it; do not mutate it after).

        Args:
            pb: the message.

        Returns:
            The view.
        """
        return cls(pb)

    def to_pb(self) -> _pb.kv.Event:
        """Return a copy of the wrapped message, free to modify.

        Returns:
            A new ``mvccpb.Event``.
        """
        copy = _pb.kv.Event()
        copy.CopyFrom(self._pb)
        return copy

    @property
    def type(self) -> EventType:
        """``EventType.PUT`` or ``EventType.DELETE``."""
        return EventType(self._pb.type)

    @property
    def kv(self) -> KeyValue:
        """The key-value after the change."""
        return KeyValue(self._pb.kv)

    @property
    def prev_kv(self) -> KeyValue | None:
        """The key-value before the change, or ``None``."""
        return KeyValue(self._pb.prev_kv) if self._pb.HasField("prev_kv") else None

    def is_create(self) -> bool:
        """Whether this PUT created the key (``create_revision == mod_revision``).

        Returns:
            ``True`` for the first PUT of a key's generation.
        """
        kv = self._pb.kv
        return self._pb.type == _pb.kv.Event.PUT and kv.create_revision == kv.mod_revision

    def is_modify(self) -> bool:
        """Whether this PUT changed an existing key.

        Returns:
            ``True`` for a PUT that did not create the key.
        """
        kv = self._pb.kv
        return self._pb.type == _pb.kv.Event.PUT and kv.create_revision != kv.mod_revision

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return bool(self._pb == other._pb)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Event({self.type.name}, {self.kv!r})"


class WatchResponse:
    """One response of a watch, read-only: events, or a notice (created, progress, end).

    Attributes:
        header: the response header (``.revision``: the store revision when it was sent).
        events: the events, in revision order.
        compact_revision: set when the watch's revision was compacted (the watch ends).
        canceled: whether the server cancelled the watch (the watch ends).
        created: whether this is the server's answer to the watch's creation.
        cancel_reason: the server's reason for a cancel, if any.
    """

    __slots__ = ("_error", "_events", "_pb")

    def __init__(self, pb: _pb.rpc.WatchResponse, error: BaseException | None = None) -> None:
        """Wrap a response message.

        Args:
            pb: the message (shared; do not mutate it after).
            error: the error that ended the watch, when it was not the server's doing (the
                context ended, the stream failed for good, the client closed).
        """
        self._pb = pb
        self._error = error
        self._events: list[Event] | None = None

    @classmethod
    def from_pb(cls, pb: _pb.rpc.WatchResponse, error: BaseException | None = None) -> Self:
        """Wrap a response message (the view shares it; do not mutate it after).

        Args:
            pb: the message.
            error: see :meth:`__init__`.

        Returns:
            The view.
        """
        return cls(pb, error)

    def to_pb(self) -> _pb.rpc.WatchResponse:
        """Return a copy of the wrapped message, free to modify.

        Returns:
            A new ``WatchResponse`` message.
        """
        copy = _pb.rpc.WatchResponse()
        copy.CopyFrom(self._pb)
        return copy

    @property
    def header(self) -> ResponseHeader:
        """The response header."""
        return ResponseHeader(self._pb.header)

    @property
    def events(self) -> list[Event]:
        """The events, in revision order (built once, on first access)."""
        if self._events is None:
            self._events = wrap_all(Event, self._pb.events)
        return self._events

    compact_revision = pb_field(
        "_pb.compact_revision",
        int,
        "The compaction revision when the watch's start revision was compacted, else 0.",
    )
    canceled = pb_field("_pb.canceled", bool, "Whether the server cancelled the watch.")
    created = pb_field(
        "_pb.created", bool, "Whether this is the server's answer to the watch's creation."
    )
    cancel_reason = pb_field(
        "_pb.cancel_reason", str, "The server's reason for a cancel ( when none was given)."
    )

    def err(self) -> BaseException | None:
        """Return the error that ended the watch with this response, or ``None``.

        As clientv3's ``WatchResponse.Err``: a compacted revision gives
        :class:`~etcd3py.errors.CompactedError`; a server cancel the typed error of its
        reason (:class:`~etcd3py.errors.FutureRevisionError` without one); an end that was not
        the server's doing (context cancelled or past its deadline, client closed, a stream
        error that cannot be retried) that error.

        Returns:
            The error, or ``None`` for a response of a live watch.
        """
        if self._error is not None:
            return self._error
        if self._pb.compact_revision == 0 and not self._pb.canceled:
            return None
        return watch_error(self._pb)

    def is_progress_notify(self) -> bool:
        """Whether this is an empty progress notification (no events, no other notice).

        Returns:
            ``True`` when the response only reports the store revision.
        """
        pb = self._pb
        return (
            not pb.events
            and not pb.canceled
            and not pb.created
            and pb.compact_revision == 0
            and pb.header.revision != 0
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WatchResponse):
            return NotImplemented
        return bool(self._pb == other._pb) and self._error is other._error

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        flags = [f for f in ("created", "canceled") if getattr(self._pb, f)]
        if self._pb.compact_revision:
            flags.append(f"compact_revision={self._pb.compact_revision}")
        err = self.err()
        if err is not None:
            flags.append(f"err={type(err).__name__}")
        extra = ", ".join(flags)
        return (
            f"WatchResponse(revision={self._pb.header.revision}, "
            f"events={len(self._pb.events)}{', ' + extra if extra else ''})"
        )
