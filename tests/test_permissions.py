"""Permission matrix: every registered route × every kind of visitor, with the expected status.

A new route fails `test_matrix_covers_every_route` until it gets a row in MATRIX; a row for a
route that no longer exists fails it too. Each (endpoint, role) case builds its own objects
inside the test's rolled-back transaction, so destructive POSTs are safe.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from market.accounts import org_operations
from market.accounts.models import Invitation, JoinRequest, Membership, Organization, User
from market.accounts.operations import _reset_fingerprint
from market.accounts.tokens import make_token
from market.core.models import OutboxEmail
from market.extensions import db

# Rows of the other domains live in tests/permission_rows_*.py: each module has MATRIX and may
# have FORMS, SETUP, EFFECTS, URL_ARGUMENTS and build(world) -> {url argument: value} (objects
# it adds to the world).
ROW_MODULES = [importlib.import_module(f"tests.{path.stem}")
               for path in sorted(Path(__file__).parent.glob("permission_rows_*.py"))]

ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")

# 302 to the login page with ?next=: the route needs a logged-in user.
LOGIN = "login"


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


# endpoint -> (method, {role: expected status})
# Roles: anonymous; outsider = owner of another organisation; member / owner of the target
# organisation (pending, region 350000000); official with no region limit (the whole
# country) and no membership; admin without membership.
MATRIX: dict[str, tuple[str, dict]] = {
    #                                          anon   outsider member owner official admin
    "main.index":                  ("GET",  row(200,   200,     200,   200,  200,     200)),
    "main.healthz":                ("GET",  row(200,   200,     200,   200,  200,     200)),
    "main.set_language":           ("POST", row(302,   302,     302,   302,  302,     302)),
    "main.list_notifications":     ("GET",  row(LOGIN, 200,     200,   200,  200,     200)),
    "main.read_notifications":     ("POST", row(LOGIN, 302,     302,   302,  302,     302)),

    "auth.register":               ("GET",  row(200,   302,     302,   302,  302,     302)),
    "auth.login":                  ("GET",  row(200,   302,     302,   302,  302,     302)),
    "auth.logout":                 ("POST", row(LOGIN, 302,     302,   302,  302,     302)),
    "auth.confirm_email":          ("GET",  row(302,   302,     302,   302,  302,     302)),
    "auth.resend_confirmation":    ("POST", row(LOGIN, 302,     302,   302,  302,     302)),
    "auth.forgot_password":        ("GET",  row(200,   200,     200,   200,  200,     200)),
    "auth.reset_password":         ("GET",  row(200,   200,     200,   200,  200,     200)),
    "auth.profile":                ("GET",  row(LOGIN, 200,     200,   200,  200,     200)),

    "orgs.list_orgs":              ("GET",  row(LOGIN, 200,     200,   200,  200,     200)),
    "orgs.new_org":                ("GET",  row(LOGIN, 200,     200,   200,  200,     200)),
    "orgs.show_org":               ("GET",  row(LOGIN, 403,     200,   200,  200,     200)),
    "orgs.edit_org":               ("GET",  row(LOGIN, 403,     403,   200,  403,     403)),
    "orgs.join_org":               ("GET",  row(LOGIN, 200,     200,   200,  200,     200)),
    "orgs.members":                ("GET",  row(LOGIN, 403,     200,   200,  200,     200)),
    "orgs.invite_member":          ("POST", row(LOGIN, 403,     403,   302,  403,     403)),
    "orgs.revoke_invitation":      ("POST", row(LOGIN, 403,     403,   302,  403,     403)),
    "orgs.change_member_role":     ("POST", row(LOGIN, 403,     403,   302,  403,     403)),
    "orgs.remove_member":          ("POST", row(LOGIN, 403,     403,   302,  403,     403)),
    "orgs.decide_join_request":    ("POST", row(LOGIN, 403,     403,   302,  403,     403)),
    "orgs.accept_invitation":      ("GET",  row(LOGIN, 200,     200,   200,  200,     200)),
    "orgs.switch_org":             ("POST", row(LOGIN, 403,     302,   302,  403,     403)),
    "orgs.resubmit_org":           ("POST", row(LOGIN, 403,     403,   302,  403,     403)),
    "orgs.org_audit":              ("GET",  row(LOGIN, 403,     403,   200,  200,     200)),

    "official.list_organizations": ("GET",  row(LOGIN, 403,     403,   403,  200,     200)),
    # Only officials decide; an admin who is not also an official may not (Organization.can_review).
    "official.review_organization": ("POST", row(LOGIN, 403,    403,   403,  302,     403)),
    "official.audit_log":          ("GET",  row(LOGIN, 403,     403,   403,  200,     200)),

    "admin.list_users":            ("GET",  row(LOGIN, 403,     403,   403,  403,     200)),
    "admin.edit_user":             ("GET",  row(LOGIN, 403,     403,   403,  403,     200)),
    "admin.toggle_user_active":    ("POST", row(LOGIN, 403,     403,   403,  403,     302)),
    "admin.outbox":                ("GET",  row(LOGIN, 403,     403,   403,  403,     200)),
    "admin.show_mail":             ("GET",  row(LOGIN, 403,     403,   403,  403,     200)),
}

for _module in ROW_MODULES:
    MATRIX.update(_module.MATRIX)

# Valid-looking forms for the POST rows, so that the status reflects authorisation.
FORMS = {
    "main.set_language": {"lang": "kk"},
    "orgs.invite_member": {"email": "newcomer@example.kz", "role": "member"},
    "orgs.change_member_role": {"role": "manager"},
    "orgs.decide_join_request": {"decision": "approve", "role": "member"},
    "official.review_organization": {"action": "verify", "reason": ""},
    "admin.toggle_user_active": {"active": "0"},
}
for _module in ROW_MODULES:
    FORMS.update(getattr(_module, "FORMS", {}))


@dataclass
class World:
    org: Organization
    owner: User
    member: User
    colleague: Membership  # another plain member: the target of role changes and removal
    colleague_id: int  # kept apart: the row may be deleted by the request
    outsider: User
    official: User
    admin: User
    applicant: User  # has a pending join request
    subject: User  # the user the admin pages and the token links are about
    invitation: Invitation
    join_request: JoinRequest
    mail: OutboxEmail
    site: object
    stream: object  # hazardous, with a passport
    record: object
    formation: object
    assay: object
    token: object
    import_job: object
    lot: object  # a draft from the stream
    extra_values: dict = field(default_factory=dict)  # from the row modules' build(world)

    @property
    def users(self) -> dict[str, User | None]:
        return {"anonymous": None, "outsider": self.outsider, "member": self.member,
                "owner": self.owner, "official": self.official, "admin": self.admin}

    def url_values(self, endpoint: str) -> dict:
        tokens = {
            "auth.confirm_email": make_token(
                "confirm", {"uid": self.subject.id, "email": self.subject.email}),
            "auth.reset_password": make_token(
                "reset", {"uid": self.subject.id, "fp": _reset_fingerprint(self.subject)}),
            "orgs.accept_invitation": make_token(
                "invite", {"id": self.invitation.id, "email": self.invitation.email}),
        }
        return {
            "org_id": self.org.id,
            "member_id": self.colleague_id,
            "inv_id": self.invitation.id,
            "request_id": self.join_request.id,
            "user_id": self.subject.id,
            "mail_id": self.mail.id,
            "token": tokens.get(endpoint),
            "site_id": self.site.id,
            "stream_id": self.stream.id,
            "record_id": self.record.id,
            "code6": "010304",
            "formation_id": self.formation.id,
            "assay_id": self.assay.id,
            "token_id": self.token.id,
            "job_id": self.import_job.id,
            "lot_id": self.lot.id,
            "fmt": "csv",
            "what": "stocks" if endpoint == "registry_io.export_official" else "journal",
            **self.extra_values,
        }


URL_ARGUMENTS = {"org_id", "member_id", "inv_id", "request_id", "user_id", "mail_id", "token",
                 "site_id", "stream_id", "record_id", "code6", "formation_id", "assay_id",
                 "token_id", "job_id", "fmt", "what", "lot_id"}
for _module in ROW_MODULES:
    URL_ARGUMENTS |= set(getattr(_module, "URL_ARGUMENTS", ()))


@pytest.fixture
def world(app, create_user, create_org, add_member, create_official):
    owner = create_user()
    org = create_org(owner=owner, state="pending", region="350000000")
    member = create_user()
    add_member(org, member, "member")
    colleague = add_member(org, create_user(), "member")
    outsider = create_user()
    create_org(owner=outsider)  # the outsider owns another organisation
    official = create_official()
    admin = create_user(is_admin=True)
    applicant = create_user()
    subject = create_user(confirmed=False)
    with app.test_request_context():  # the invitation e-mail builds an absolute link
        invitation = org_operations.invite_member(org, actor=owner, email="invitee@example.kz",
                                                  role="member")
        join_request = org_operations.request_to_join(org, actor=applicant)
    mail = OutboxEmail(recipient=subject.email, subject="Проверка", body="Текст письма")
    db.session.add(mail)
    db.session.flush()
    site, stream, record, formation, assay, lot = _registry_objects(org, owner)
    from market.api.models import ApiToken

    token = ApiToken(organization_id=org.id, name="t", prefix="qdq_test", token_hash="0" * 64,
                     scopes=["registry:read"], created_by_id=owner.id)
    from market.registry.models import ImportJob

    import_job = ImportJob(organization_id=org.id, kind="journal", filename="j.csv",
                           stored_path="/nonexistent/j.csv", status="done", created_by_id=owner.id)
    db.session.add_all([token, import_job])
    db.session.flush()
    w = World(site=site, stream=stream, record=record, formation=formation, assay=assay, lot=lot,
              token=token, import_job=import_job,
              org=org, owner=owner, member=member, colleague=colleague,
              colleague_id=colleague.id, outsider=outsider,
              official=official, admin=admin, applicant=applicant, subject=subject,
              invitation=invitation, join_request=join_request, mail=mail)
    for module in ROW_MODULES:
        if hasattr(module, "build"):
            w.extra_values.update(module.build(w))
    db.session.flush()
    return w


def _registry_objects(org, owner):
    from datetime import date

    from market.cadastre.operations import add_assay, create_formation
    from market.registry import operations as reg
    from market.registry.journal import record

    site = reg.create_site(org, actor=owner, name="Площадка", kind="storage",
                           region_kato="350000000", address="Караганда")
    stream = reg.create_stream(site, actor=owner, waste_code="100207", name="Пыль",
                               physical_state="powder", storage_purpose="disposal",
                               hazard_properties=["HP14"])
    reg.save_passport(stream, actor=owner, composition="Pb", handling="h", transport="t",
                      emergency="e", compiled_by="Эколог", compiled_on=date(2026, 1, 1),
                      hazard_properties=["HP14"])
    rec = record(stream, actor=owner, kind="generated", quantity="10", event_date=date(2026, 1, 1))
    formation = create_formation(org, actor=owner, name="Отвал", kind="slag_heap",
                                 region_kato="350000000", lat=49.8, lon=73.1)
    assay = add_assay(formation, actor=owner, component="Cu", grade="0.5", unit="pct")
    from market.lots.operations import create_lot

    lot = create_lot(org, actor=owner, stream=stream, title="Пыль", quantity="5",
                     pricing_mode="fixed", price=100_000)
    return site, stream, rec, formation, assay, lot


def _reject(w: World) -> None:
    w.org.state = "rejected"
    w.org.state_reason = "Неверный адрес"


def _forget_current_org(w: World) -> None:
    w.owner.current_org_id = None


# Per-endpoint adjustments so that the authorised role's request can actually succeed.
SETUP = {
    "orgs.resubmit_org": _reject,
    "orgs.switch_org": _forget_current_org,
}
for _module in ROW_MODULES:
    SETUP.update(getattr(_module, "SETUP", {}))


def _membership_exists(membership_id: int) -> bool:
    return bool(db.session.scalar(
        select(func.count(Membership.id)).where(Membership.id == membership_id)))


# endpoint -> (did the action take effect?, roles for which it must)
# Where a refusal could also end in a redirect (DomainError: flash + 302), the status alone
# does not prove anything; these check the database.
EFFECTS = {
    "orgs.invite_member": (
        lambda w, user: db.session.scalar(select(func.count(Invitation.id)).where(
            Invitation.organization_id == w.org.id,
            Invitation.email == "newcomer@example.kz")) == 1,
        {"owner"}),
    "orgs.revoke_invitation": (lambda w, user: w.invitation.status == "revoked", {"owner"}),
    "orgs.change_member_role": (
        lambda w, user: _membership_exists(w.colleague_id) and w.colleague.role == "manager",
        {"owner"}),
    "orgs.remove_member": (lambda w, user: not _membership_exists(w.colleague_id), {"owner"}),
    "orgs.decide_join_request": (
        lambda w, user: w.join_request.status == "approved" and w.applicant.role_in(w.org) is not None,
        {"owner"}),
    "orgs.switch_org": (
        lambda w, user: user is not None and user.current_org_id == w.org.id,
        {"member", "owner"}),
    "orgs.resubmit_org": (lambda w, user: w.org.state == "pending", {"owner"}),
    "official.review_organization": (lambda w, user: w.org.state == "verified", {"official"}),
    "admin.toggle_user_active": (lambda w, user: w.subject.active is False, {"admin"}),
}
for _module in ROW_MODULES:
    EFFECTS.update(getattr(_module, "EFFECTS", {}))


def _is_login_redirect(response) -> bool:
    if response.status_code != 302:
        return False
    parts = urlsplit(response.headers["Location"])
    return parts.path == "/login" and "next" in parse_qs(parts.query)


def test_matrix_covers_every_route(app):
    """Every registered endpoint has exactly one row; no row names a vanished endpoint."""
    registered: dict[str, set[str]] = {}
    arguments: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        registered.setdefault(rule.endpoint, set()).update(rule.methods)
        arguments.setdefault(rule.endpoint, set()).update(rule.arguments)
    missing = sorted(set(registered) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(registered))
    assert not missing, f"routes without a row in the permission MATRIX: {missing}"
    assert not stale, f"MATRIX rows for endpoints that no longer exist: {stale}"
    for endpoint, (method, expected) in MATRIX.items():
        assert method in registered[endpoint], f"{endpoint} does not accept {method}"
        assert tuple(expected) == ROLES, f"{endpoint}: one expected status per role"
        unknown = arguments[endpoint] - URL_ARGUMENTS
        assert not unknown, f"{endpoint}: no fixture object for URL arguments {unknown}"
    assert set(FORMS) <= set(MATRIX) and set(EFFECTS) <= set(MATRIX) and set(SETUP) <= set(MATRIX)


@pytest.mark.parametrize(("endpoint", "role"),
                         [(endpoint, role) for endpoint in MATRIX for role in ROLES])
def test_permission(endpoint, role, app, client, auth, world):
    method, expected = MATRIX[endpoint]
    expected = expected[role]
    if endpoint in SETUP:
        SETUP[endpoint](world)
        db.session.flush()
    user = world.users[role]
    if user is not None:
        r = auth.login(user.email)
        assert r.status_code == 302 and urlsplit(r.headers["Location"]).path != "/login", \
            f"could not log in as {role}"

    (rule,) = app.url_map.iter_rules(endpoint)
    values = {k: v for k, v in world.url_values(endpoint).items() if k in rule.arguments}
    url = app.url_map.bind("localhost").build(endpoint, values)
    response = client.open(url, method=method, data=FORMS.get(endpoint) if method == "POST" else None)

    where = f"{method} {url} as {role}"
    if expected == LOGIN:
        assert _is_login_redirect(response), \
            f"{where}: expected a redirect to login, got {response.status_code} " \
            f"{response.headers.get('Location', '')}"
    else:
        assert response.status_code == expected, \
            f"{where}: expected {expected}, got {response.status_code} " \
            f"{response.headers.get('Location', '')}"
        assert not _is_login_redirect(response), f"{where}: sent to the login page"

    if endpoint in EFFECTS:
        took_effect, allowed = EFFECTS[endpoint]
        assert took_effect(world, user) == (role in allowed), (
            f"{where}: the action should {'' if role in allowed else 'not '}have taken effect")
