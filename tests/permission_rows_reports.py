"""Permission-matrix rows for the "offered, no taker" reports (blueprint offer_reports) and the
sitemaps and robots.txt (blueprint sitemap).

Merged into tests/test_permissions.py's MATRIX; see there for the roles and the world. A report
is seen by the holder's members, officials of its region (the world's official covers the whole
country) and admins; the officials' list by officials and admins. Sitemaps are public.
"""

from __future__ import annotations

from datetime import timedelta

from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.models import OfferReport

LOGIN = "login"
ROLES = ("anonymous", "outsider", "member", "owner", "official", "admin")


def row(anonymous, outsider, member, owner, official, admin) -> dict:
    return dict(zip(ROLES, (anonymous, outsider, member, owner, official, admin), strict=True))


VIEW = row(LOGIN, 403, 200, 200, 200, 200)
OFFICIAL = row(LOGIN, 403, 403, 403, 200, 200)
PUBLIC = row(200, 200, 200, 200, 200, 200)

MATRIX = {
    "offer_reports.org_reports": ("GET", VIEW),
    "offer_reports.show_report": ("GET", VIEW),
    "offer_reports.report_pdf": ("GET", VIEW),
    "offer_reports.official_reports": ("GET", OFFICIAL),
    "sitemap.robots_txt": ("GET", PUBLIC),
    "sitemap.sitemap_index": ("GET", PUBLIC),
    "sitemap.sitemap_pages": ("GET", PUBLIC),
    "sitemap.sitemap_lots": ("GET", PUBLIC),  # the block of the world's lot, published by SETUP
}

URL_ARGUMENTS = {"report_id", "n"}


def _publish_world_lot(world) -> None:
    world.lot.state = "published"
    world.lot.published_at = utcnow()


SETUP = {"sitemap.sitemap_lots": _publish_world_lot}


def build(world) -> dict:
    """A report on the world's lot, as if it had been a mandatory offer that expired."""
    from market.lots.sitemap import PAGE

    now = utcnow()
    report = OfferReport(
        lot_id=world.lot.id, organization_id=world.org.id, stream_id=world.stream.id,
        region_kato=world.org.region_kato, waste_code=world.lot.waste_code,
        quantity=world.lot.quantity, pricing_mode=world.lot.pricing_mode, price=world.lot.price,
        published_at=now - timedelta(days=15), closed_at=now, how_closed="expired", views=3)
    db.session.add(report)
    db.session.flush()
    return {"report_id": report.id, "n": (world.lot.id - 1) // PAGE + 1}
