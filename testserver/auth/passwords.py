"""Password hashing for the reference server's users (etcd uses bcrypt; this uses PBKDF2).

A stored password is ``b"p" + salt + PBKDF2-HMAC-SHA256(password, salt)``. The iteration
count is low on purpose: this server is for tests, and Authenticate must stay fast. A hash
etcd's API accepts ready-made (``hashedPassword``, a base64 bcrypt hash) cannot be checked
without bcrypt, so a user given one can never authenticate here; see :func:`from_hashed`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = ["ITERATIONS", "from_hashed", "hash_password", "verify"]

#: PBKDF2 iterations (kept low so that tests stay fast).
ITERATIONS = 1000
_SALT_BYTES = 16
_PBKDF2 = b"p"  # marks a hash made here
_OPAQUE = b"h"  # marks a hash given by the client: never matches a password


def hash_password(password: str) -> bytes:
    """Hash ``password`` with a fresh random salt.

    Args:
        password: the clear-text password (may be empty, as etcd's API allows).

    Returns:
        The stored form.
    """
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return _PBKDF2 + salt + digest


def from_hashed(hashed: str) -> bytes:
    """Return the stored form for a client-given ``hashedPassword`` (base64 of a bcrypt hash).

    Args:
        hashed: the base64 text.

    Returns:
        A stored form that never verifies (bcrypt is not available here).

    Raises:
        ValueError: ``hashed`` is not valid base64 (etcd then answers as for a no-password user).
    """
    try:
        raw = base64.b64decode(hashed, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("hashedPassword is not base64") from exc
    return _OPAQUE + raw


def verify(stored: bytes, password: str) -> bool:
    """Return whether ``password`` matches the stored form.

    Args:
        stored: what :func:`hash_password` (or :func:`from_hashed`) returned.
        password: the clear-text password to check.

    Returns:
        True on a match.
    """
    if not stored.startswith(_PBKDF2) or len(stored) <= 1 + _SALT_BYTES:
        return False
    salt, digest = stored[1 : 1 + _SALT_BYTES], stored[1 + _SALT_BYTES :]
    given = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return hmac.compare_digest(given, digest)
