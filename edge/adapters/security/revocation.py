"""Revoked sessions: the deny list every access token is checked against, on every request.

A session is one sign-in's chain of refresh tokens (its family id); each access token carries
it as `sid`. Logout, a reused refresh token, disabling an account, a new password or new roles,
and a lockout for guessing a supervisor's PIN all revoke sessions in `refresh_tokens`, and the
tokens of a revoked session stop working on the next request instead of when they expire.

The check is a set lookup. The set is the store's own table, read back (one indexed query):
- right after every write in this process that revokes: the edge has one writer, and the
  caller of that write reloads the list before it answers;
- and, for revocations written by another process (the `novapos-edge user disable` CLI), by
  the first request after `refresh_every_s`: such a revocation takes effect within that bound.

An entry only matters while a token of that session could still be valid (the access-token
lifetime plus clock skew after the revocation); the loader reads no older ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import structlog

log = structlog.get_logger()


class RevocationList:
    def __init__(self, *, keep_s: int, refresh_every_s: float = 5.0):
        self.keep_s = keep_s
        self.refresh_every_s = refresh_every_s
        self._sessions: frozenset[str] = frozenset()
        self._load: Callable[[int], Iterable[str]] | None = None
        self._next_reload = 0.0

    def watch(self, load: Callable[[int], Iterable[str]]) -> None:
        """`load(keep_s)`: the ids of sessions revoked in the last `keep_s` seconds."""
        self._load = load
        self._next_reload = 0.0

    def reload(self) -> None:
        if self._load is None:
            return
        self._next_reload = time.monotonic() + self.refresh_every_s
        try:
            # One new frozenset swapped in whole: a reader never sees half a list.
            self._sessions = frozenset(self._load(self.keep_s))
        except Exception as err:  # keep the last list; the next request after the interval retries
            log.warning("auth.revocations_reload_failed", error=str(err))

    def is_revoked(self, session_id: str | None) -> bool:
        if self._load is not None and time.monotonic() >= self._next_reload:
            self.reload()
        return session_id is not None and session_id in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)
