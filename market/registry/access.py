"""Who may see and change an organisation's registry."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from market.accounts.models import Organization, OrgRole
from market.extensions import db
from market.registry.models import Site, WasteRecord, WasteStream


def can_view_registry(user, org: Organization) -> bool:
    """Members of the organisation, officials of its region, admins."""
    return bool(user.is_authenticated and (
        user.is_admin or user.official_covers(org.region_kato) or user.membership_in(org)))


def can_edit_registry(user, org: Organization) -> bool:
    return bool(user.is_authenticated and user.has_org_role(org, OrgRole.member))


def _get(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def viewable_org(org_id: int) -> Organization:
    org = _get(Organization, org_id)
    if not can_view_registry(current_user, org):
        abort(403)
    return org


def viewable_site(site_id: int, *, edit: bool = False) -> Site:
    site = _get(Site, site_id)
    check = can_edit_registry if edit else can_view_registry
    if not check(current_user, site.organization):
        abort(403)
    return site


def viewable_stream(stream_id: int, *, edit: bool = False) -> WasteStream:
    stream = _get(WasteStream, stream_id)
    check = can_edit_registry if edit else can_view_registry
    if not check(current_user, stream.organization):
        abort(403)
    return stream


def viewable_record(record_id: int, *, edit: bool = False) -> WasteRecord:
    rec = _get(WasteRecord, record_id)
    viewable_stream(rec.stream_id, edit=edit)
    return rec
