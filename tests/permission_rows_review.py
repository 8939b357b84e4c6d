"""Permission-matrix rows for the official review of agreements (blueprint review).

Merged into tests/test_permissions.py's MATRIX. The deal is the one tests/permission_rows_deals.py
builds: the world's organisation (pending) sells to the outsider's organisation (verified). SETUP
makes its agreement fully signed (seals made by the built-in password signer) and gives the buyer
a receiving site; for the case pages the buyer has submitted it. The parties' members may post
the submission (only the buyer's owner succeeds; the holder's members are refused with a
message), others 404. The queue and the case are for officials and admins (others 403); only
officials decide (admins 403). The world's official covers the whole country.
"""

from __future__ import annotations

from market.extensions import db

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")
PLAN = "Переплавка в индукционной печи на площадке в Темиртау, вывоз за неделю."


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


MATRIX = {
    "review.submit":  ("POST", row(LOGIN, 302, 302, 302, 404, 404)),
    "review.queue":   ("GET",  row(LOGIN, 403, 403, 403, 200, 200)),
    "review.case":    ("GET",  row(LOGIN, 403, 403, 403, 200, 200)),
    "review.approve": ("POST", row(LOGIN, 403, 403, 403, 302, 403)),
    "review.reject":  ("POST", row(LOGIN, 403, 403, 403, 302, 403)),
    "review.return_": ("POST", row(LOGIN, 403, 403, 403, 302, 403)),
}

FORMS = {
    "review.submit": {"site_id": ""},
    "review.approve": {},
    "review.reject": {"reason": "Нет лицензии на операцию R4"},
    "review.return_": {"comments": "Уточните адрес площадки покупателя"},
}


def _deal(world):
    from market.deals.models import Deal

    return db.session.get(Deal, world.extra_values["deal_id"], populate_existing=True)


def _signed(world) -> None:
    """The agreement with the buyer's plan, sealed by both parties; a site of the buyer."""
    from market.deals import agreements, signing
    from market.deals.models_agreement import AgreementSignature
    from market.registry.models import Site

    deal = _deal(world)
    agreement = agreements.sync_agreement(deal)
    agreement.plan, agreement.operation_code = PLAN, "R4"
    db.session.flush()
    db.session.refresh(agreement)
    agreement = agreements.sync_agreement(deal)
    version = agreement.current
    for party, user, org in (("seller", world.owner, deal.seller),
                             ("buyer", world.outsider, deal.buyer)):
        data = signing.SIGNERS["password"]._sealed(user, org, version.sha256)
        db.session.add(AgreementSignature(
            agreement_id=agreement.id, version_id=version.id, organization_id=org.id,
            user_id=user.id, party=party, sha256=data.sha256, method=data.method,
            signed_at=data.signed_at, evidence=data.evidence))
    agreement.state = "signed"
    site = Site(organization_id=deal.buyer_id, name="Цех переработки", kind="processing",
                region_kato="350000000", address="г. Темиртау")
    db.session.add(site)
    db.session.flush()
    db.session.expire_all()
    FORMS["review.submit"]["site_id"] = str(site.id)


def _submitted(world) -> None:
    from market.deals import review

    _signed(world)
    review.submit(_deal(world), actor=world.outsider,
                  site_id=int(FORMS["review.submit"]["site_id"]))
    db.session.flush()


SETUP = {
    "review.submit": _signed,
    "review.case": _submitted,
    "review.approve": _submitted,
    "review.reject": _submitted,
    "review.return_": _submitted,
}


def _case_state(state):
    def check(world, _user) -> bool:
        from market.deals import review

        case = review.review_of(_deal(world))
        return case is not None and case.state == state

    return check


EFFECTS = {
    "review.submit": (_case_state("submitted"), {"outsider"}),
    "review.approve": (lambda world, _u: _deal(world).state == "registered", {"official"}),
    "review.reject": (_case_state("rejected"), {"official"}),
    "review.return_": (_case_state("returned"), {"official"}),
}
