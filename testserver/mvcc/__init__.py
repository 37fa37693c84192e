"""The reference server's multi-version key space, after etcd's ``server/mvcc``.

``revision`` (main/sub revisions), ``key_index`` (one key's generations), ``index`` (ordered
keys), ``store`` (the revisioned store, its txns, history and compaction), ``apply``
(request-level semantics), ``checks`` (request checks) and ``gosort`` (Go's sort order).
"""

from __future__ import annotations

__all__: list[str] = []
