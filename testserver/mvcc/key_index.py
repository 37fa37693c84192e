"""One key's history as generations of revisions, as etcd's ``server/mvcc/key_index.go``.

A generation runs from the put that created the key to the tombstone that deleted it; the
last generation is the live one (empty when the key is deleted). For example
put(1), put(2), delete(3), put(4), delete(5) gives ``{1, 2, 3t} {4, 5t} {}``.
Compaction at ``rev`` drops every revision at or below ``rev`` except the newest one, and
drops that one too when it is a tombstone; a key whose generations all go is removed.

This module knows only revisions: the values live in the store, keyed by revision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from testserver.mvcc.revision import Revision

__all__ = ["Generation", "KeyIndex", "RevisionNotFound"]


class RevisionNotFound(LookupError):
    """The key does not exist at the asked revision (etcd's ``ErrRevisionNotFound``)."""


@dataclass(slots=True)
class Generation:
    """The revisions of one life of a key, from its creating put to its tombstone.

    Attributes:
        ver: the number of changes in this generation (the key's version after the last one).
        created: the revision of the put that created the key in this generation.
        revs: every change, oldest first; the last one of a closed generation is its tombstone.
    """

    ver: int = 0
    created: Revision = field(default_factory=lambda: Revision(0, 0))
    revs: list[Revision] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Return whether the generation holds no revision."""
        return not self.revs

    def walk(self, keep_going: Callable[[Revision], bool]) -> int:
        """Visit the revisions newest first until ``keep_going`` returns False.

        Args:
            keep_going: called with each revision; False stops the walk there.

        Returns:
            The index where the walk stopped, or -1 when it visited every revision.
        """
        for i in range(len(self.revs) - 1, -1, -1):
            if not keep_going(self.revs[i]):
                return i
        return -1


@dataclass(slots=True)
class KeyIndex:
    """All generations of one key.

    Attributes:
        key: the key.
        modified: the revision of the key's last change.
        generations: oldest first; the last one is the live (or empty, when deleted) one.
    """

    key: bytes
    modified: Revision = field(default_factory=lambda: Revision(0, 0))
    generations: list[Generation] = field(default_factory=list)

    def put(self, rev: Revision) -> None:
        """Record a put (or, through :meth:`tombstone`, a delete) at ``rev``.

        Args:
            rev: the change's revision; must be newer than every recorded one.
        """
        if rev <= self.modified:
            raise ValueError(f"put at {rev} is not after the last change {self.modified}")
        if not self.generations:
            self.generations.append(Generation())
        gen = self.generations[-1]
        if not gen.revs:
            gen.created = rev
        gen.revs.append(rev)
        gen.ver += 1
        self.modified = rev

    def tombstone(self, rev: Revision) -> None:
        """Record a delete at ``rev`` and open a new, empty generation.

        Args:
            rev: the delete's revision.

        Raises:
            RevisionNotFound: the key is already deleted.
        """
        if not self.generations or self.generations[-1].is_empty():
            raise RevisionNotFound(self.key)
        self.put(rev)
        self.generations.append(Generation())

    def undo(self, rev: Revision, *, tombstone: bool) -> None:
        """Take back the newest change (at ``rev``), for a txn that is abandoned.

        Args:
            rev: the revision of the change; it must be the newest one recorded.
            tombstone: whether that change was a delete.
        """
        if tombstone:
            self.generations.pop()  # the empty generation the delete opened
        gen = self.generations[-1]
        if not gen.revs or gen.revs[-1] != rev:
            raise ValueError(f"{rev} is not the newest change of {self.key!r}")
        gen.revs.pop()
        gen.ver -= 1
        previous = [g.revs[-1] for g in self.generations if g.revs]
        self.modified = previous[-1] if previous else Revision(0, 0)

    def is_empty(self) -> bool:
        """Return whether the key has no history left (it can leave the index)."""
        return len(self.generations) == 1 and self.generations[0].is_empty()

    def get(self, at_rev: int) -> tuple[Revision, Revision, int]:
        """Find the key's state at main revision ``at_rev``.

        Args:
            at_rev: the main revision to look at.

        Returns:
            (modified revision, created revision, version) of the key at ``at_rev``.

        Raises:
            RevisionNotFound: the key did not exist at ``at_rev``.
        """
        gen = self._find_generation(at_rev)
        if gen is None or gen.is_empty():
            raise RevisionNotFound(self.key)
        n = gen.walk(lambda rev: rev.main > at_rev)
        if n == -1:
            raise RevisionNotFound(self.key)
        return gen.revs[n], gen.created, gen.ver - (len(gen.revs) - n - 1)

    def _find_generation(self, rev: int) -> Generation | None:
        last = len(self.generations) - 1
        for i in range(last, -1, -1):
            gen = self.generations[i]
            if not gen.revs:
                continue
            if i != last and gen.revs[-1].main <= rev:
                return None  # rev falls between this generation's tombstone and the next one
            if gen.revs[0].main <= rev:
                return gen
        return None

    def since(self, rev: int) -> list[Revision]:
        """Return the revisions from main revision ``rev`` on, one per main revision.

        When a txn changed the key more than once, only its last change (highest sub) counts.

        Args:
            rev: the first main revision wanted.

        Returns:
            The revisions, oldest first.
        """
        since = Revision(rev, 0)
        gi = len(self.generations) - 1
        while gi > 0:
            gen = self.generations[gi]
            if gen.revs and since > gen.created:
                break
            gi -= 1
        revs: list[Revision] = []
        last = 0
        for gen in self.generations[gi:]:
            for r in gen.revs:
                if since > r:
                    continue
                if r.main == last:
                    revs[-1] = r
                    continue
                revs.append(r)
                last = r.main
        return revs

    def _do_compact(self, at_rev: int, available: set[Revision]) -> tuple[int, int]:
        def keep_going(rev: Revision) -> bool:
            if rev.main <= at_rev:
                available.add(rev)
                return False
            return True

        gi = 0
        while gi < len(self.generations) - 1:
            if self.generations[gi].revs[-1].main > at_rev:
                break
            gi += 1
        return gi, self.generations[gi].walk(keep_going)

    def compact(self, at_rev: int, available: set[Revision]) -> None:
        """Drop history at or below ``at_rev`` but the newest change (unless a tombstone).

        Args:
            at_rev: the compaction revision.
            available: receives the revision kept for this key, if any.
        """
        gi, rev_index = self._do_compact(at_rev, available)
        gen = self.generations[gi]
        if not gen.is_empty():
            if rev_index != -1:
                gen.revs = gen.revs[rev_index:]
            if len(gen.revs) == 1 and gi != len(self.generations) - 1:
                available.discard(gen.revs[0])  # a lone tombstone goes too
                gi += 1
        self.generations = self.generations[gi:]

    def keep(self, at_rev: int, available: set[Revision]) -> None:
        """Add to ``available`` the revision a compaction at ``at_rev`` would keep.

        Args:
            at_rev: the would-be compaction revision.
            available: receives the revision.
        """
        if self.is_empty():
            return
        gi, rev_index = self._do_compact(at_rev, available)
        gen = self.generations[gi]
        last_gen = gi == len(self.generations) - 1
        if not gen.is_empty() and rev_index == len(gen.revs) - 1 and not last_gen:
            available.discard(gen.revs[rev_index])
