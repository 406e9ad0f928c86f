"""Users, refresh tokens and login attempts."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Connection, and_, insert, select, update

from edge.adapters import tables as t
from edge.service.ports import Actor
from edge.service.repository_ports import LoginAttempts, RefreshTokenRow, TenantRow, UserRow

_USER_COLUMNS = [t.users.c[name] for name in UserRow.__struct_fields__]
_ATTEMPT_COLUMNS = [t.login_attempts.c[name] for name in LoginAttempts.__struct_fields__]
_REFRESH_COLUMNS = [t.refresh_tokens.c[name] for name in RefreshTokenRow.__struct_fields__]
_TENANT_COLUMNS = [t.tenants.c[name] for name in TenantRow.__struct_fields__]


class SqlUsersRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def _user(self, *where: ColumnElement[bool]) -> UserRow | None:
        row = self.conn.execute(select(*_USER_COLUMNS).where(t.users.c.tenant_id == self.tenant_id, *where)
                                ).mappings().first()
        return UserRow(**row) if row else None

    def by_username(self, username: str) -> UserRow | None:
        return self._user(t.users.c.username == username)

    def by_id(self, user_id: str) -> UserRow | None:
        return self._user(t.users.c.id == user_id)

    def by_pin_lookup(self, store_id: str, pin_lookup: str) -> UserRow | None:
        return self._user(t.users.c.store_id == store_id, t.users.c.pin_lookup == pin_lookup)

    def list(self) -> list[UserRow]:
        rows = self.conn.execute(
            select(*_USER_COLUMNS).where(t.users.c.tenant_id == self.tenant_id).order_by(t.users.c.username)
        ).mappings()
        return [UserRow(**r) for r in rows]

    def add(self, user: UserRow) -> None:
        self.conn.execute(insert(t.users).values(tenant_id=self.tenant_id, **msgspec.structs.asdict(user)))

    def update(self, user_id: str, **values: Any) -> None:
        self.conn.execute(
            update(t.users).where(t.users.c.tenant_id == self.tenant_id, t.users.c.id == user_id).values(**values)
        )

    # -- login attempts ------------------------------------------------------------------
    def attempts(self, subject: str) -> LoginAttempts | None:
        row = self.conn.execute(
            select(*_ATTEMPT_COLUMNS).where(
                t.login_attempts.c.tenant_id == self.tenant_id, t.login_attempts.c.subject == subject
            )
        ).mappings().first()
        return LoginAttempts(**row) if row else None

    def save_attempts(self, subject: str, failures: int, locked_until: str | None, now: str) -> None:
        existing = self.attempts(subject)
        values = {"failures": failures, "locked_until": locked_until, "updated_at": now}
        if existing is None:
            self.conn.execute(insert(t.login_attempts).values(tenant_id=self.tenant_id, subject=subject, **values))
        else:
            self.conn.execute(
                update(t.login_attempts)
                .where(t.login_attempts.c.tenant_id == self.tenant_id, t.login_attempts.c.subject == subject)
                .values(**values)
            )

    # -- refresh tokens ------------------------------------------------------------------
    def add_refresh(self, token: RefreshTokenRow) -> None:
        self.conn.execute(insert(t.refresh_tokens).values(tenant_id=self.tenant_id, **msgspec.structs.asdict(token)))

    def refresh_by_hash(self, token_hash: str) -> RefreshTokenRow | None:
        row = self.conn.execute(
            select(*_REFRESH_COLUMNS).where(
                t.refresh_tokens.c.tenant_id == self.tenant_id, t.refresh_tokens.c.token_hash == token_hash
            )
        ).mappings().first()
        return RefreshTokenRow(**row) if row else None

    def mark_rotated(self, token_hash: str, now: str) -> bool:
        """Atomically claim a refresh token; False if someone already exchanged it."""
        result = self.conn.execute(
            update(t.refresh_tokens)
            .where(
                t.refresh_tokens.c.token_hash == token_hash,
                t.refresh_tokens.c.rotated_at.is_(None),
                t.refresh_tokens.c.revoked_at.is_(None),
            )
            .values(rotated_at=now)
        )
        return result.rowcount == 1

    def revoke_family(self, family_id: str, now: str) -> int:
        return self.conn.execute(
            update(t.refresh_tokens)
            .where(and_(t.refresh_tokens.c.family_id == family_id, t.refresh_tokens.c.revoked_at.is_(None)))
            .values(revoked_at=now)
        ).rowcount

    def revoke_user(self, user_id: str, now: str) -> int:
        return self.conn.execute(
            update(t.refresh_tokens)
            .where(
                t.refresh_tokens.c.tenant_id == self.tenant_id,
                t.refresh_tokens.c.user_id == user_id,
                t.refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        ).rowcount

    def revoked_sessions(self, since: str) -> list[str]:
        """Sessions (refresh families) revoked at or after `since`: their access tokens are refused."""
        rows = self.conn.execute(
            select(t.refresh_tokens.c.family_id).distinct().where(t.refresh_tokens.c.revoked_at >= since)
        )
        return [r[0] for r in rows]

    def tenant(self) -> TenantRow | None:
        row = self.conn.execute(select(*_TENANT_COLUMNS).where(t.tenants.c.id == self.tenant_id)).mappings().first()
        return TenantRow(**row) if row else None
