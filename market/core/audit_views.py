"""The audit log page, shared by organisation owners, officials and admins."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import render_template, request
from sqlalchemy import select

from market.core.models import AuditEvent
from market.core.timeutil import ALMATY
from market.core.web import db_int
from market.extensions import db


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(), ALMATY)
    except (TypeError, ValueError):
        return None


def audit_query(*, organization=None, args=None, region_katos=None):
    """Audit events filtered by the query string: action, actor, object, dates."""
    from market.accounts.models import Organization, User

    args = args or {}
    q = select(AuditEvent)
    if organization is not None:
        q = q.where(AuditEvent.organization_id == organization.id)
    elif region_katos:
        q = q.join(Organization, AuditEvent.organization_id == Organization.id).where(
            Organization.region_kato.in_(region_katos))
    if args.get("action"):
        q = q.where(AuditEvent.action.startswith(args["action"].strip()))
    if args.get("actor"):
        q = q.join(User, AuditEvent.actor_id == User.id).where(
            User.email.contains(args["actor"].strip().lower()))
    if args.get("object_type"):
        q = q.where(AuditEvent.object_type == args["object_type"])
    if args.get("object_id"):
        q = q.where(AuditEvent.object_id == args["object_id"])
    if args.get("org") and organization is None and args["org"].isdigit():
        q = q.where(AuditEvent.organization_id == int(args["org"]))
    start, end = _day(args.get("from")), _day(args.get("to"))
    if start:
        q = q.where(AuditEvent.created_at >= start)
    if end:
        q = q.where(AuditEvent.created_at < end + timedelta(days=1))
    return q


def audit_page(*, organization=None, per_page: int = 25, region_katos=None):
    """Render the log with keyset pagination on id (newest first)."""
    args = request.args
    q = audit_query(organization=organization, args=args, region_katos=region_katos)
    before = args.get("before", type=db_int)
    if before:
        q = q.where(AuditEvent.id < before)
    rows = db.session.scalars(q.order_by(AuditEvent.id.desc()).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    next_before = rows[-1].id if more and rows else None
    return render_template("audit/list.html", events=rows, organization=organization,
                           next_before=next_before, args=args)
