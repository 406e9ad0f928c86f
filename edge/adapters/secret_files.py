"""Payment secrets (API keys, webhook secrets) read from files or systemd credentials.

Secrets never live in the database or in settings: a setting names where the secret is. An
absolute or relative path is a file; a bare name (no slash) is a systemd credential, read from
`$CREDENTIALS_DIRECTORY/<name>` (the unit's `LoadCredential=`). The value is never logged: errors
name the file, never its content.

`SecretRing` holds a webhook secret and, during a rotation, the previous one with the end of its
overlap window. The files are re-read when they change, so an operator rotates by replacing the
file; no restart is needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

log = structlog.get_logger()


class SecretUnavailable(Exception):
    """A configured secret file or credential is missing, unreadable or empty."""


def secret_path(name: str, environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if "/" in name:
        return Path(name).expanduser()
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise SecretUnavailable(f"{name!r} names a systemd credential, but $CREDENTIALS_DIRECTORY is not set "
                                "(give an absolute path, or add LoadCredential= to the unit)")
    return Path(directory) / name


def read_secret(name: str, environ: dict[str, str] | None = None) -> bytes:
    path = secret_path(name, environ)
    try:
        value = path.read_bytes().strip()
    except OSError as err:
        raise SecretUnavailable(f"cannot read secret file {path}: {err.strerror or type(err).__name__}") from None
    if not value:
        raise SecretUnavailable(f"secret file {path} is empty")
    return value


class WatchedSecret:
    """One secret file, re-read when its modification time or size changes."""

    def __init__(self, name: str, environ: dict[str, str] | None):
        self.path = secret_path(name, environ)
        self._stamp: tuple[int, int] | None = None
        self._value = b""
        self.value()  # fail at start, not at the first webhook

    def value(self) -> bytes:
        try:
            st = self.path.stat()
        except OSError as err:
            if self._value:  # mid-rotation the file may be replaced: keep the last good value
                return self._value
            raise SecretUnavailable(f"cannot read secret file {self.path}: {err.strerror}") from None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            value = self.path.read_bytes().strip()
            if not value:
                if self._value:
                    return self._value
                raise SecretUnavailable(f"secret file {self.path} is empty")
            if self._stamp is not None:
                log.info("secret.reloaded", file=str(self.path))
            self._value, self._stamp = value, stamp
        return self._value


class SecretRing:
    """The secrets a webhook may be signed with right now: the current one, and the previous
    one until its overlap window ends (both verify during a rotation)."""

    def __init__(self, current: str, *, previous: str = "", previous_until: str = "",
                 environ: dict[str, str] | None = None, clock: Callable[[], datetime] | None = None):
        self._current = WatchedSecret(current, environ)
        self._previous = WatchedSecret(previous, environ) if previous else None
        self._until = (datetime.fromisoformat(previous_until.replace("Z", "+00:00"))
                       if previous_until else None)
        self._clock = clock or (lambda: datetime.now(UTC))

    def secrets(self) -> list[bytes]:
        out = [self._current.value()]
        if self._previous is not None and self._until is not None and self._clock() < self._until:
            out.append(self._previous.value())
        return out


class FixedSecrets:
    """Secrets known at start and never rotated (the demo stub's generated secret)."""

    def __init__(self, *secrets: bytes):
        self._secrets = list(secrets)

    def secrets(self) -> list[bytes]:
        return list(self._secrets)
