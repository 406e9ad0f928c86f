"""User administration from the store admin: the rules that protect the people doing it.

`edge.service.users` changes an account (roles, disable, secrets, MFA) and enforces which roles
a store manager may grant. On top of that, an administrator may not lock themselves out: they
cannot disable their own account or change their own roles (a colleague, or the tenant admin,
does that), so a store is never left with nobody able to administer it by a slip of the mouse.
"""

from __future__ import annotations

from typing import Any

from edge.domain.errors import Forbidden
from edge.service import users
from edge.service.ports import UnitOfWork


def change_user(uow: UnitOfWork, *, user_id: str, roles: list[str] | None, disabled: bool | None,
                reset_mfa: bool, security_event: Any = None, **secrets: Any) -> users.AccountView:
    """A change made by the signed-in administrator (`uow.actor`) to someone's account."""
    me = uow.actor
    if user_id == me.user_id:
        if disabled:
            raise Forbidden("you cannot disable your own account; ask another administrator",
                            code="self-disable")
        if roles is not None and set(roles) != set(me.roles):
            raise Forbidden("you cannot change your own roles; ask another administrator",
                            code="self-role-change")
    return users.change_user(uow, user_id=user_id, roles=roles, disabled=disabled, reset_mfa=reset_mfa,
                             granted_by=me.roles, security_event=security_event, **secrets)
