"""Wiring of the lane's kiosk rules: lane sessions read the policy in force at each sign-in."""

from __future__ import annotations

from edge.api.deps import Services
from edge.contracts.policy import DEFAULT_POLICY, PolicyDocument
from edge.service.lane_sessions import LaneSessions


def lane_sessions_of(services: Services) -> LaneSessions:
    def policy() -> PolicyDocument:
        # The sales runtime holds the document HQ sent, swapped whole on each change; before it
        # starts (or in a process without it) the built-in defaults apply.
        runtime = (services.extras or {}).get("sales")
        return runtime.policy_in_force.document if runtime is not None else DEFAULT_POLICY

    store = services.settings.store
    return LaneSessions(policy, timezone=store.timezone, store_id=store.store_id)
