"""For search engines: /robots.txt and the sitemaps of the public pages and published lots.

A million lots do not fit one sitemap (at most 50,000 URLs each), so /sitemap.xml is a sitemap
index: one sitemap of the public pages (/sitemap-pages.xml) and one per block of 50,000 lot ids
(/sitemap-lots-<n>.xml lists the published lots with ids (n-1)*50,000+1 … n*50,000). A block is
read as an id range on the primary key — never an OFFSET over a million rows — and streamed as
it is read. The index lists only the blocks that hold a published lot, each with the newest
change among them as its lastmod.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, url_for
from sqlalchemy import func, select

from market.extensions import db
from market.lots.models import Lot

bp = Blueprint("sitemap", __name__)

PAGE = 50_000  # URLs per sitemap: the protocol's limit
MAX_ID = 2**31 - 1  # ids are INTEGER: a block beyond them is empty (and a larger bound overflows)
MAX_AGE = 3600  # crawlers may keep a sitemap for an hour
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
# Pages for members, officials and forms: nothing for a search engine there.
PRIVATE = ("/admin/", "/api/", "/official/", "/orgs/", "/registry/", "/offer-reports/",
           "/cadastre/", "/notifications", "/profile", "/lots/mine", "/lots/new", "/login",
           "/register", "/password", "/confirm", "/invitations", "/language")


def _lastmod(value) -> str:
    return f"<lastmod>{value.isoformat(timespec='seconds')}</lastmod>" if value else ""


def _xml(body, *, cache: bool = True) -> Response:
    response = Response(body, mimetype="application/xml")
    if cache:
        response.cache_control.public = True
        response.cache_control.max_age = MAX_AGE
    return response


@bp.get("/robots.txt")
def robots_txt():
    """What crawlers may read, and where the sitemap is."""
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in PRIVATE), "",
             f"Sitemap: {url_for('sitemap.sitemap_index', _external=True)}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@bp.get("/sitemap.xml")
def sitemap_index():
    """The sitemap index: the public pages, then one sitemap per block of lot ids."""
    block = (Lot.id - 1) // PAGE
    blocks = db.session.execute(
        select(block.label("block"), func.max(Lot.updated_at).label("lastmod"))
        .where(Lot.state == "published").group_by(block).order_by(block)).all()
    entries = [f"<sitemap><loc>{escape(url_for('sitemap.sitemap_pages', _external=True))}</loc>"
               f"</sitemap>"]
    entries += [f"<sitemap><loc>{escape(url_for('sitemap.sitemap_lots', n=int(b) + 1, _external=True))}"
                f"</loc>{_lastmod(lastmod)}</sitemap>" for b, lastmod in blocks]
    return _xml(f"{XML_HEAD}<sitemapindex {NS}>\n" + "\n".join(entries) + "\n</sitemapindex>\n")


@bp.get("/sitemap-pages.xml")
def sitemap_pages():
    """Home, the exchange and the waste classifier (the exchange changes with each publication)."""
    newest = db.session.scalar(select(Lot.published_at).where(Lot.state == "published")
                               .order_by(Lot.published_at.desc()).limit(1))
    pages = [("main.index", None), ("lots.list_lots", newest), ("refdata.list_codes", None)]
    urls = [f"<url><loc>{escape(url_for(endpoint, _external=True))}</loc>{_lastmod(lastmod)}</url>"
            for endpoint, lastmod in pages]
    return _xml(f"{XML_HEAD}<urlset {NS}>\n" + "\n".join(urls) + "\n</urlset>\n")


@bp.get("/sitemap-lots-<int:n>.xml")
def sitemap_lots(n: int):
    """The published lots with ids in block n, read by id range and streamed.

    The body is written as the rows arrive (a server-side cursor on PostgreSQL), after the
    request has ended: the generator reads in an application context of its own.
    """
    low, high = (n - 1) * PAGE, min(n * PAGE, MAX_ID)
    if n < 1 or low >= MAX_ID:
        abort(404)
    in_block = (Lot.state == "published", Lot.id > low, Lot.id <= high)
    if db.session.scalar(select(Lot.id).where(*in_block).limit(1)) is None:
        abort(404)
    lot_url = url_for("lots.show_lot", lot_id=1, _external=True)
    prefix = escape(lot_url[:-1])  # ".../lots/"
    app = current_app._get_current_object()

    def generate():
        yield f"{XML_HEAD}<urlset {NS}>\n"
        with app.app_context():
            rows = db.session.execute(select(Lot.id, Lot.updated_at).where(*in_block)
                                      .order_by(Lot.id).execution_options(yield_per=5000))
            for chunk in rows.partitions():
                yield "".join(f"<url><loc>{prefix}{lot_id}</loc>{_lastmod(updated)}</url>\n"
                              for lot_id, updated in chunk)
        yield "</urlset>\n"

    return _xml(generate())
