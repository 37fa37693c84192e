"""Simple tokens with a TTL, as etcd 3.5.1's ``auth/simple_token.go``.

A token is ``"<16 random letters>.<raft index of the Authenticate entry>"``; it names one user
and lives ``ttl`` seconds (etcd's ``--auth-token-ttl``, 300 by default) after its last use:
each successful lookup resets its TTL. Tokens live only in memory: disabling auth, deleting a
user or changing a user's password invalidates them, and so does a restart of the server (as
etcd's simple tokens do not survive a restart). etcd drops expired tokens on a 1-second tick,
so a real token lives up to a second longer than its TTL; here expiry is exact. The clock is
injectable for tests.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEFAULT_TOKEN_TTL", "SimpleTokens"]

#: etcd's default ``--auth-token-ttl`` in seconds.
DEFAULT_TOKEN_TTL = 300.0
_LETTERS = string.ascii_lowercase + string.ascii_uppercase
_PREFIX_LENGTH = 16


@dataclass(slots=True)
class _Token:
    user: str
    expiry: float


class SimpleTokens:
    """The live simple tokens of one server.

    Args:
        ttl: seconds a token lives after its last use (must be > 0).
        clock: the monotonic time source (seconds).
    """

    def __init__(
        self, ttl: float = DEFAULT_TOKEN_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl <= 0:
            raise ValueError("the token TTL must be > 0")
        self.ttl = ttl
        self.clock = clock
        self._tokens: dict[str, _Token] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    def assign(self, user: str, index: int) -> str:
        """Make a new token for ``user``.

        Args:
            user: the authenticated user.
            index: the raft index of the Authenticate entry (the token's suffix).

        Returns:
            The token.
        """
        while True:
            prefix = "".join(secrets.choice(_LETTERS) for _ in range(_PREFIX_LENGTH))
            token = f"{prefix}.{index}"
            if token not in self._tokens:
                break
        self._tokens[token] = _Token(user, self.clock() + self.ttl)
        return token

    def lookup(self, token: str) -> str | None:
        """Return the user of a live token and reset its TTL; None if unknown or expired.

        Args:
            token: the token a request carried.

        Returns:
            The user's name, or None.
        """
        entry = self._tokens.get(token)
        if entry is None:
            return None
        now = self.clock()
        if now > entry.expiry:
            del self._tokens[token]
            return None
        entry.expiry = now + self.ttl
        return entry.user

    def invalidate_user(self, user: str) -> None:
        """Drop every token of ``user`` (deleted, or its password changed)."""
        for token in [t for t, e in self._tokens.items() if e.user == user]:
            del self._tokens[token]

    def clear(self) -> None:
        """Drop every token (auth disabled, or the server restarted)."""
        self._tokens.clear()
