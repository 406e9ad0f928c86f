"""Authentication use cases: password + TOTP login, lane PIN login, refresh rotation, logout,
MFA enrolment.

Argon2 verification is deliberately slow (tens of ms), so it never runs in the writer thread:
the account is read, the secret is verified in a worker thread, and only the outcome (failure
count, lockout, rehash, new refresh token) is written. Every failure path answers the same
"invalid credentials", for unknown users too, and takes the same Argon2 time.

Every access token names its session (`sid`, the refresh-token family). Whatever revokes a
session here (logout, refresh-token reuse, a lockout for guessing a supervisor's PIN) and in
`users` (disable, new password, new roles) reloads the security adapter's deny list once the
revocation has committed, so the session's access tokens fail on the very next request.

One failure counter per account: wrong passwords and wrong supervisor PINs keyed in on a
cashier's behalf both count on the cashier's account. At the threshold the account locks (with
backoff) and, for PIN guessing, its open sessions are revoked, so the lane goes back to sign-in
and the cashier cannot sign in again, by password or PIN, until the lockout ends.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Protocol

import msgspec

from edge.domain.errors import Forbidden, OverrideRequired, Unauthorized, ValidationFailed
from edge.domain.ids import iso as _iso
from edge.domain.ids import parse_iso
from edge.domain.ids import uuid7 as new_id
from edge.service.lane_sessions import LaneSessionView
from edge.service.ports import AccessClaims, Actor
from edge.service.repository_ports import LoginAttempts, RefreshTokenRow, UserRow

MANAGER_ROLES = {"store_manager", "tenant_admin", "supervisor"}
INVALID = "invalid username or password"
REUSED = object()


class GrantedUser(msgspec.Struct, frozen=True, kw_only=True):
    """Who a grant signs in (no secret of theirs)."""

    id: str
    username: str
    roles: list[str]
    tenant_id: str
    store_id: str


class Grant(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The answer to a sign-in or a refresh: the tokens, who they are for, and at a lane the
    session it holds. `mfa_enrollment_required` and `lane_session` are absent unless they apply."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user: GrantedUser
    mfa_enrollment_required: bool = False
    lane_session: LaneSessionView | None = None


class TooManyAttempts(Unauthorized):
    status = 429
    default_code = "too-many-attempts"

    def __init__(self, retry_after_s: int):
        super().__init__("too many failed attempts; try again later")
        self.retry_after_s = retry_after_s


class Security(Protocol):
    """What the auth use cases need from the security adapters."""

    def verify_secret(self, stored_hash: str | None, secret: str) -> bool: ...
    def hash_secret(self, secret: str) -> str: ...
    def needs_rehash(self, stored_hash: str) -> bool: ...
    def issue_access(self, claims: AccessClaims) -> str: ...
    def new_refresh_token(self) -> tuple[str, str]: ...
    def hash_refresh_token(self, token: str) -> str: ...
    def totp_step(self, secret: str, code: str) -> int | None: ...
    def new_totp_secret(self) -> str: ...
    def totp_uri(self, secret: str, username: str) -> str: ...
    def pin_lookup(self, tenant_id: str, store_id: str, pin: str) -> str: ...
    def security_event(self, event: str) -> None: ...
    def watch_revocations(self, load: Any) -> None: ...
    def sessions_revoked(self) -> None: ...


class Runner(Protocol):
    async def run(self, actor: Actor, handler: Any) -> Any: ...
    async def read(self, actor: Actor, query: Any) -> Any: ...
    def read_now(self, actor: Actor, query: Any) -> Any: ...


class AuthPolicy(Protocol):
    access_ttl_s: int
    refresh_ttl_s: int
    pin_refresh_ttl_s: int
    lockout_threshold: int
    lockout_base_s: int
    lockout_max_s: int


class AuthService:
    def __init__(self, uow: Runner, security: Security, policy: AuthPolicy, *, tenant_id: str, store_id: str,
                 demo: bool, clock: Any):
        self.uow = uow
        self.security = security
        self.policy = policy
        self.tenant_id = tenant_id
        self.store_id = store_id
        self.demo = demo
        self.clock = clock  # returns an aware UTC datetime
        # One cashier per lane and lane sessions that end on time (`lane_sessions.LaneSessions`).
        self.lane_sessions: Any = None
        security.watch_revocations(self._revoked_sessions)

    def _revoked_sessions(self, keep_s: int) -> list[str]:
        # An indexed read of a handful of rows, on the caller's thread: it runs on the request
        # path at most once per refresh interval, and right after a revocation.
        since = _iso(self.clock() - timedelta(seconds=keep_s))
        return self.uow.read_now(self._actor(), lambda u: u.users.revoked_sessions(since))

    def sessions_changed(self) -> None:
        """After a committed write that revoked sessions elsewhere (user administration)."""
        self.security.sessions_revoked()

    def _actor(self, username: str = "auth", lane_id: str | None = None) -> Actor:
        return Actor(tenant_id=self.tenant_id, store_id=self.store_id, user_id=None, username=username,
                     roles=("system",), lane_id=lane_id)

    # -- password login -------------------------------------------------------------------
    async def login(self, username: str, password: str, totp: str | None) -> Grant:
        actor = self._actor(username)
        user, attempts = await self.uow.read(
            actor, lambda u: (u.users.by_username(username), u.users.attempts(username))
        )
        self._refuse_if_locked(attempts)
        ok = await asyncio.to_thread(self.security.verify_secret, user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            await self._record_failure(actor, username, "login_failed")
            raise Unauthorized(INVALID, code="invalid-credentials")
        step = None
        if user.totp_confirmed:
            if not totp:
                raise Unauthorized("a one-time code from your authenticator app is required", code="mfa-required")
            step = self.security.totp_step(user.totp_secret or "", totp)
            if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
                await self._record_failure(actor, username, "mfa_failed")
                raise Unauthorized("the one-time code is wrong or was already used", code="mfa-invalid")
        rehash = self.security.hash_secret(password) if self.security.needs_rehash(user.password_hash) else None
        tenant = await self.uow.read(actor, lambda u: u.users.tenant())
        must_enroll = bool(
            not self.demo and tenant and tenant.require_mfa and not user.totp_confirmed
            and MANAGER_ROLES & set(user.roles)
        )
        return await self.uow.run(
            self._actor(user.username),
            lambda u: self._grant(u, user, lane_id=None, totp_step=step, rehash=rehash, must_enroll=must_enroll),
        )

    # -- lane PIN login -------------------------------------------------------------------
    async def pin_login(self, lane_id: str, pin: str, *, device_id: str | None = None) -> Grant:
        subject = f"lane:{lane_id}"
        actor = self._actor(subject, lane_id)
        if not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValidationFailed("a PIN is 4 to 8 digits", errors=[{"field": "pin", "message": "4 to 8 digits"}])
        lookup = self.security.pin_lookup(self.tenant_id, self.store_id, pin)

        def _read(u: Any) -> tuple[bool, UserRow | None, LoginAttempts | None, LoginAttempts | None]:
            users = u.users
            user = users.by_pin_lookup(self.store_id, lookup)
            return (u.stores.lane_exists(self.store_id, lane_id), user, users.attempts(subject),
                    users.attempts(user.username) if user else None)

        lane_ok, user, attempts, account_attempts = await self.uow.read(actor, _read)
        self._refuse_if_locked(attempts)
        ok = await asyncio.to_thread(self.security.verify_secret, user.pin_hash if user else None, pin)
        if not lane_ok or not ok or user is None or user.disabled:
            await self._record_failure(actor, subject, "pin_failed")
            raise Unauthorized("invalid lane or PIN", code="invalid-credentials")
        # The account's own lockout (wrong passwords, or supervisor PINs guessed at a lane) holds
        # for PIN sign-in too; told only to someone who just keyed the right PIN.
        self._refuse_if_locked(account_attempts)
        granted = await self.uow.run(
            self._actor(user.username, lane_id),
            lambda u: self._grant(u, user, lane_id=lane_id, totp_step=None, rehash=None, must_enroll=False,
                                  clear_subject=subject, device_id=device_id),
        )
        if granted.lane_session is not None and granted.lane_session.took_over_from:
            self.security.sessions_revoked()  # the lane's previous session is refused from now on
        return granted

    # -- supervisor override at the lane -----------------------------------------------------
    async def supervisor_by_pin(self, actor: Actor, pin: str, supervisor_roles: frozenset[str]) -> str:
        """The username of the supervisor whose PIN was keyed in at the lane, for an override (a
        large discount, a void, a return outside policy, a large pay-out). Wrong PINs count on
        the asking cashier's own account, the counter their logins use: at the threshold the
        cashier is locked out and signed out, so PINs cannot be guessed one sale at a time."""
        if not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValidationFailed("a supervisor PIN is 4 to 8 digits",
                                   errors=[{"field": "override_pin", "message": "4 to 8 digits"}])
        subject = actor.username
        lookup = self.security.pin_lookup(self.tenant_id, self.store_id, pin)
        user, attempts = await self.uow.read(actor, lambda u: (
            u.users.by_pin_lookup(self.store_id, lookup), u.users.attempts(subject)))
        self._refuse_if_locked(attempts)
        ok = await asyncio.to_thread(self.security.verify_secret, user.pin_hash if user else None, pin)
        if not ok or user is None or user.disabled or not supervisor_roles.intersection(user.roles):
            await self._record_failure(actor, subject, "override_pin_failed", sign_out=actor.user_id)
            raise OverrideRequired("that is not a supervisor's PIN at this store", code="override-invalid")
        if attempts and attempts.failures:
            await self.uow.run(actor, lambda u: u.users.save_attempts(subject, 0, None, u.now))
        return user.username

    # -- refresh and logout -----------------------------------------------------------------
    async def refresh(self, refresh_token: str) -> Grant:
        token_hash = self.security.hash_refresh_token(refresh_token)
        result = await self.uow.run(self._actor(), lambda u: self._rotate(u, token_hash))
        if result is REUSED:
            # Raised only after the revocation committed: an error inside the unit of work
            # would have rolled the revocation back.
            self.security.sessions_revoked()
            raise Unauthorized("the refresh token was already used; the session is revoked",
                               code="refresh-token-reused")
        return result

    def _rotate(self, uow: Any, token_hash: str) -> Grant | object:
        users = uow.users
        row = users.refresh_by_hash(token_hash)
        if row is None or row.revoked_at is not None or row.expires_at <= uow.now:
            raise Unauthorized("the refresh token is not valid; log in again", code="invalid-refresh-token")
        if not users.mark_rotated(token_hash, uow.now):
            # A rotated token came back: someone holds a copy. Revoke the whole family.
            users.revoke_family(row.family_id, uow.now)
            self.security.security_event("refresh_reuse")
            uow.audit("auth.refresh_reuse", "user", row.user_id, None, {"family_id": row.family_id})
            return REUSED
        user = users.by_id(row.user_id)
        if user is None or user.disabled:
            raise Unauthorized("the refresh token is not valid; log in again", code="invalid-refresh-token")
        lane_session = (self.lane_sessions.continued(uow, row.family_id)
                        if row.lane_id and self.lane_sessions is not None else None)
        result = self._tokens(uow, user, lane_id=row.lane_id, family_id=row.family_id, must_enroll=False)
        return msgspec.structs.replace(result, lane_session=lane_session) if lane_session else result

    async def logout(self, refresh_token: str) -> None:
        token_hash = self.security.hash_refresh_token(refresh_token)

        def _logout(uow: Any) -> bool:
            row = uow.users.refresh_by_hash(token_hash)
            if row is None:
                return False
            uow.users.revoke_family(row.family_id, uow.now)
            if row.lane_id and self.lane_sessions is not None:
                self.lane_sessions.signed_out(uow, row.family_id)
            uow.audit("auth.logout", "user", row.user_id, None, {"session": row.family_id})
            return True

        if await self.uow.run(self._actor(), _logout):
            self.security.sessions_revoked()

    # -- MFA -----------------------------------------------------------------------------
    async def mfa_enroll(self, actor: Actor) -> dict[str, str]:
        secret = self.security.new_totp_secret()

        def _enroll(uow: Any) -> None:
            user = uow.users.by_id(actor.user_id)
            if user is None:
                raise Unauthorized("unknown account")
            if user.totp_confirmed:
                raise Forbidden("MFA is already set up for this account; ask an admin to reset it",
                                code="mfa-already-enrolled")
            uow.users.update(actor.user_id, totp_secret=secret, updated_at=uow.now)
            uow.audit("auth.mfa_enroll_started", "user", actor.user_id, None, None)

        await self.uow.run(actor, _enroll)
        return {"secret": secret, "otpauth_uri": self.security.totp_uri(secret, actor.username)}

    async def mfa_confirm(self, actor: Actor, code: str) -> None:
        def _confirm(uow: Any) -> None:
            user = uow.users.by_id(actor.user_id)
            if user is None or not user.totp_secret:
                raise ValidationFailed("start MFA enrolment first", code="mfa-not-started")
            step = self.security.totp_step(user.totp_secret, code)
            if step is None:
                raise ValidationFailed("the code does not match; check the authenticator's clock",
                                       code="mfa-invalid", errors=[{"field": "code", "message": "wrong code"}])
            uow.users.update(actor.user_id, totp_confirmed=True, totp_last_step=step, updated_at=uow.now)
            uow.audit("auth.mfa_enrolled", "user", actor.user_id, {"totp_confirmed": False},
                      {"totp_confirmed": True})

        await self.uow.run(actor, _confirm)

    # -- helpers ---------------------------------------------------------------------------
    def _refuse_if_locked(self, attempts: LoginAttempts | None) -> None:
        if attempts and attempts.locked_until:
            now = _iso(self.clock())
            if attempts.locked_until > now:
                self.security.security_event("login_while_locked")
                remaining = _seconds_between(now, attempts.locked_until)
                raise TooManyAttempts(max(1, remaining))

    async def _record_failure(self, actor: Actor, subject: str, event: str, *, sign_out: str | None = None) -> None:
        """Count a failure on `subject`; at the lockout threshold, also revoke `sign_out`'s sessions."""
        self.security.security_event(event)
        policy = self.policy

        def _fail(uow: Any) -> bool:
            users = uow.users
            prior = users.attempts(subject)
            failures = (prior.failures if prior else 0) + 1
            locked_until = None
            if failures >= policy.lockout_threshold:
                # Exponential backoff: 30 s, 60 s, 120 s ... capped.
                delay = min(policy.lockout_max_s, policy.lockout_base_s * 2 ** (failures - policy.lockout_threshold))
                locked_until = _iso(self.clock() + timedelta(seconds=delay))
                self.security.security_event("lockout")
                uow.audit("auth.lockout", "login", subject, None, {"failures": failures, "locked_until": locked_until,
                                                                   "cause": event})
            users.save_attempts(subject, failures, locked_until, uow.now)
            return bool(locked_until and sign_out and users.revoke_user(sign_out, uow.now))

        if await self.uow.run(actor, _fail):
            self.security.sessions_revoked()

    def _grant(self, uow: Any, user: UserRow, *, lane_id: str | None, totp_step: int | None,
               rehash: str | None, must_enroll: bool, clear_subject: str | None = None,
               device_id: str | None = None) -> Grant:
        users = uow.users
        changes: dict[str, Any] = {}
        if users.by_id(user.id).disabled:  # disabled after the credentials were read
            raise Unauthorized(INVALID, code="invalid-credentials")
        if totp_step is not None:
            # Re-check inside the writer: two logins racing with the same code get one success.
            fresh = users.by_id(user.id)
            if fresh.totp_last_step is not None and totp_step <= fresh.totp_last_step:
                raise Unauthorized("the one-time code is wrong or was already used", code="mfa-invalid")
            changes["totp_last_step"] = totp_step
        if rehash:
            changes["password_hash"] = rehash
        if changes:
            users.update(user.id, **changes, updated_at=uow.now)
        users.save_attempts(clear_subject or user.username, 0, None, uow.now)
        uow.audit("auth.login", "user", user.id, None, {"lane_id": lane_id, "pin": clear_subject is not None})
        family_id = new_id()
        result = self._tokens(uow, user, lane_id=lane_id, family_id=family_id, must_enroll=must_enroll)
        if lane_id and self.lane_sessions is not None:
            result = msgspec.structs.replace(result, lane_session=self.lane_sessions.started(
                uow, user, lane_id=lane_id, family_id=family_id, device_id=device_id))
        return result

    def _tokens(self, uow: Any, user: UserRow, *, lane_id: str | None, family_id: str | None,
                must_enroll: bool) -> Grant:
        roles = [] if must_enroll else list(user.roles)
        family_id = family_id or new_id()
        # The session (`sid`): revoking it refuses this token (see `revocation`).
        access = self.security.issue_access(AccessClaims(
            sub=user.id, sid=family_id, username=user.username, tenant_id=self.tenant_id,
            store_id=user.store_id or self.store_id, roles=tuple(roles), lane_id=lane_id or None,
            mfa_enroll=must_enroll))
        refresh, refresh_hash = self.security.new_refresh_token()
        ttl = self.policy.pin_refresh_ttl_s if lane_id else self.policy.refresh_ttl_s
        uow.users.add_refresh(RefreshTokenRow(token_hash=refresh_hash, family_id=family_id, user_id=user.id,
                                              lane_id=lane_id, issued_at=uow.now,
                                              expires_at=_iso(self.clock() + timedelta(seconds=ttl))))
        return Grant(access_token=access, refresh_token=refresh, token_type="Bearer",  # noqa: S106
                     expires_in=self.policy.access_ttl_s, mfa_enrollment_required=must_enroll,
                     user=GrantedUser(id=user.id, username=user.username,
                                      roles=roles if must_enroll else list(user.roles),
                                      tenant_id=self.tenant_id, store_id=user.store_id or self.store_id))


def _seconds_between(a: str, b: str) -> int:
    return int((parse_iso(b) - parse_iso(a)).total_seconds()) + 1
