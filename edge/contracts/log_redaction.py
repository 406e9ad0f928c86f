"""Keys whose values never reach a log line, on the store server and the cloud hub alike.

Credentials and raw request bodies are replaced whatever a caller passes: a last line of
defence, since call sites log ids and hashes in the first place. A structlog processor; it
imports only the standard library, so both servers' log set-ups share it.
"""

from __future__ import annotations

from typing import Any

SECRET_KEYS = frozenset({
    "password", "new_password", "admin_password", "password_hash",
    "pin", "override_pin", "totp", "totp_secret", "otpauth_uri", "code",
    "token", "access_token", "refresh_token", "override_token", "secret",
    "authorization", "cookie", "set-cookie",
    "body", "request_body",
    "email", "phone",  # customer contact details: call sites log customer ids only
})
REDACTED = "[redacted]"


def redact_secrets(_logger: object, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in event.keys() & SECRET_KEYS:
        event[key] = REDACTED
    return event
