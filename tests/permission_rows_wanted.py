"""Permission-matrix rows for wanted posts (blueprint "wanted").

The world's wanted post belongs to the world's organisation (pending, so its owner cannot
publish a new one but manages this one). The outsider's verified organisation has a published
lot that fits the post: the outsider is the one who may answer with it.
"""

from datetime import date

from sqlalchemy import func, select

from market.extensions import db
from market.lots.models_interest import WantedMatch, WantedPost
from tests.permission_rows_registry import LOGIN, PUBLIC, row

MATRIX = {
    "wanted.list_wanted":   ("GET",  PUBLIC),
    "wanted.show_wanted":   ("GET",  PUBLIC),
    "wanted.my_wanted":     ("GET",  row(LOGIN, 200, 200, 200, 302, 302)),
    # The form for managers of the current organisation; for the pending world organisation
    # (and the outsider's holder, not a processor) the page explains why it cannot post.
    "wanted.new_wanted":    ("GET",  row(LOGIN, 200, 403, 200, 302, 302)),
    "wanted.edit_wanted":   ("GET",  row(LOGIN, 403, 403, 200, 403, 403)),
    "wanted.close_wanted":  ("POST", row(LOGIN, 403, 403, 302, 403, 403)),
    "wanted.answer_wanted": ("POST", row(LOGIN, 302, 403, 403, 403, 403)),
}

# lot_id is filled in by build(): the outsider's published lot.
FORMS = {"wanted.answer_wanted": {"lot_id": "0", "message": "Проверка прав"}}

URL_ARGUMENTS = {"wanted_id"}


def _wanted(w) -> WantedPost:
    return db.session.get(WantedPost, w.extra_values["wanted_id"])


def _answered(w, _user) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(WantedMatch).where(
        WantedMatch.wanted_id == w.extra_values["wanted_id"], WantedMatch.answered.is_(True))))


EFFECTS = {
    "wanted.close_wanted": (lambda w, user: _wanted(w).state == "closed", {"owner"}),
    "wanted.answer_wanted": (_answered, {"outsider"}),
}


def build(world) -> dict:
    from market.lots.operations import create_lot, publish_lot
    from market.registry import operations as reg
    from market.registry.journal import record

    post = WantedPost(organization_id=world.org.id, created_by_id=world.owner.id,
                      title="Ищем шлак", code_prefixes=["10"], regions=[], price_kind="pay",
                      state="open")
    db.session.add(post)
    outsider_org = world.outsider.memberships[0].organization
    site = reg.create_site(outsider_org, actor=world.outsider, name="Склад", kind="storage",
                           region_kato="350000000", address="Караганда")
    stream = reg.create_stream(site, actor=world.outsider, waste_code="100202", name="Шлак",
                               physical_state="solid", storage_purpose="recovery")
    record(stream, actor=world.outsider, kind="generated", quantity="10", event_date=date(2026, 1, 1))
    lot = create_lot(outsider_org, actor=world.outsider, stream=stream, title="Шлак", quantity="5",
                     pricing_mode="fixed", price=100_000)
    publish_lot(lot, actor=world.outsider)
    db.session.flush()
    FORMS["wanted.answer_wanted"]["lot_id"] = str(lot.id)
    return {"wanted_id": post.id}
