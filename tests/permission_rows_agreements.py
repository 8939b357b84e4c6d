"""Permission-matrix rows for the agreement of a deal (blueprint agreements) and two-factor login
(blueprint twofactor).

Merged into tests/test_permissions.py's MATRIX. The deal is the one tests/permission_rows_deals.py
builds: the world's organisation (pending) sells to the outsider's organisation (verified). The
parties' members and the officials may read the agreement (admins without membership: 404);
only the parties' members may post its forms (others 404). The buyer's owner (outsider) signs
and states the plan; the holder's members are refused with a message (pending organisation, not
the buyer). Two-factor pages belong to every logged-in user.
"""

from __future__ import annotations

from datetime import date

from market.extensions import db

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")
PLAN = "Переплавка в индукционной печи на площадке в Темиртау, вывоз за неделю."


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


MATRIX = {
    "agreements.show_agreement":  ("GET",  row(LOGIN, 200, 200, 200, 200, 404)),
    "agreements.agreement_file":  ("GET",  row(LOGIN, 200, 200, 200, 200, 404)),
    "agreements.agreement_json":  ("GET",  row(LOGIN, 200, 200, 200, 200, 404)),
    "agreements.sign_agreement":  ("POST", row(LOGIN, 302, 302, 302, 404, 404)),
    "agreements.set_plan":        ("POST", row(LOGIN, 302, 302, 302, 404, 404)),
    "twofactor.settings":         ("GET",  row(LOGIN, 200, 200, 200, 200, 200)),
    "twofactor.start":            ("POST", row(LOGIN, 302, 302, 302, 302, 302)),
    "twofactor.confirm":          ("POST", row(LOGIN, 302, 302, 302, 302, 302)),
    "twofactor.disable":          ("POST", row(LOGIN, 302, 302, 302, 302, 302)),
    # Without a password step first, the code page sends everyone back (logged-in users home).
    "twofactor.login_code":       ("GET",  row(302, 302, 302, 302, 302, 302)),
}

FORMS = {
    "agreements.sign_agreement": {"digest": "", "confirm": "y", "password": "correct-horse-9"},
    "agreements.set_plan": {"plan": PLAN, "operation_code": "R4"},
    "twofactor.start": {},
    "twofactor.confirm": {"code": "123456"},
    "twofactor.disable": {"password": "correct-horse-9", "code": "123456"},
}

URL_ARGUMENTS = {"lang"}


def _deal(world):
    from market.deals.models import Deal

    return db.session.get(Deal, world.extra_values["deal_id"], populate_existing=True)


def _licence(world) -> None:
    """The buyer (outsider's organisation) may take the hazardous dust by R4."""
    from market.accounts.models import Licence

    buyer = _deal(world).buyer
    db.session.add(Licence(organization_id=buyer.id, number="KZ-R4-1", valid_from=date(2020, 1, 1),
                           scopes=["100207"], operations=["R4"]))
    db.session.flush()


def _ready_to_sign(world) -> None:
    """The buyer stated its plan; the form carries the current hash."""
    from market.deals import agreements

    _licence(world)
    deal = _deal(world)
    agreement = agreements.sync_agreement(deal)
    agreement.plan, agreement.operation_code = PLAN, "R4"
    db.session.flush()
    db.session.refresh(agreement)
    agreement = agreements.sync_agreement(deal)
    FORMS["agreements.sign_agreement"]["digest"] = agreement.current.sha256


SETUP = {
    "agreements.sign_agreement": _ready_to_sign,
    "agreements.set_plan": _licence,
}


def _signed_by_buyer(world, _user) -> bool:
    from market.deals import agreements, signing

    agreement = agreements.agreement_of(_deal(world))
    return "buyer" in signing.valid_signatures(agreement)


def _plan_stated(world, _user) -> bool:
    from market.deals import agreements

    agreement = agreements.agreement_of(_deal(world))
    return agreement is not None and agreement.plan == PLAN


def _enrolling(_world, user) -> bool:
    from market.accounts import twofactor

    return user is not None and twofactor.record_of(user) is not None


EFFECTS = {
    "agreements.sign_agreement": (_signed_by_buyer, {"outsider"}),
    "agreements.set_plan": (_plan_stated, {"outsider"}),
    "twofactor.start": (_enrolling, {"outsider", "member", "owner", "official", "admin"}),
}


def build(_world) -> dict:
    return {"lang": "kk"}
