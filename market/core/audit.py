"""Audit trail: every state change and security event writes an AuditEvent."""

from __future__ import annotations

from contextvars import ContextVar

from market.core.models import AuditEvent
from market.extensions import db

# Set by the web layer for each request (IP address); None for CLI commands and jobs.
current_origin: ContextVar[str | None] = ContextVar("current_origin", default=None)


def record(action: str, obj=None, *, actor=None, organization=None, **data) -> AuditEvent:
    """Write an audit event in the current transaction (flushed, not committed)."""
    org_id = getattr(organization, "id", None)
    if org_id is None and obj is not None and obj.__class__.__name__ == "Organization":
        org_id = obj.id
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        organization_id=org_id,
        action=action,
        object_type=obj.__class__.__name__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None and getattr(obj, "id", None) else None,
        data={k: _plain(v) for k, v in data.items()},
        ip=current_origin.get(),
    )
    db.session.add(event)
    return event


def _plain(value):
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
