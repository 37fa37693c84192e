"""etcd 3.5.1's auth for the reference server: users, roles, key-range permissions, tokens.

:mod:`~testserver.auth.store` holds the state and every rule, :mod:`~testserver.auth.perms`
the interval checks, :mod:`~testserver.auth.tokens` the simple tokens with their TTL and
:mod:`~testserver.auth.passwords` the password hashes. The gRPC side (reading the token from a
call's metadata, the Auth service, the checks in the other services) lives in
``testserver/services/``.
"""

from __future__ import annotations

from testserver.auth.store import AuthInfo, AuthStore
from testserver.auth.tokens import DEFAULT_TOKEN_TTL, SimpleTokens

__all__ = ["AuthInfo", "AuthStore", "DEFAULT_TOKEN_TTL", "SimpleTokens"]
