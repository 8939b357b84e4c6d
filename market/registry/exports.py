"""Exports of the registry and the cadastre: CSV streamed row by row, or XLSX.

CSV is written for Excel as used in Kazakhstan: UTF-8 with a BOM (so that Cyrillic opens
correctly), ";" between columns and a decimal comma; our own import reads it back. Column
names are the machine names of the import templates; codes come with a label column in the
user's language. Text that Excel would take for a formula is neutralised in both formats.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import Response, current_app
from flask_babel import force_locale, get_locale
from sqlalchemy import func, or_, select

from market.accounts.models import ORG_STATE_LABELS, Organization, User
from market.cadastre.models import FORMATION_KINDS, FORMATION_STATUSES, Formation
from market.core.timeutil import to_almaty
from market.extensions import db
from market.refdata.models import Region, WasteChapter, WasteCode
from market.registry.limits import deadline
from market.registry.models import (
    RECORD_LABELS,
    SITE_KINDS,
    STORAGE_PURPOSES,
    Passport,
    Site,
    WasteRecord,
    WasteStream,
)
from market.registry.oversight import compliance_query, regions_filter, stocks_query

CSV_DELIMITER = ";"
BATCH = 1000  # rows fetched from the database (and flushed to the client) at a time
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Export:
    """A table to download: a file name (without extension), column names and its rows.

    `rows` is called when the file is written — for CSV while the response is being sent,
    inside an application context of its own, so it must capture ids, not ORM objects.
    """

    name: str
    columns: Sequence[str]
    rows: Callable[[], Iterable[Sequence]]


# writers ------------------------------------------------------------------------------------

def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    if isinstance(value, datetime):
        return to_almaty(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_response(export: Export) -> Response:
    """The table as a CSV download, produced while it is sent.

    The rows are read in an application context (and database session) that the generator
    pushes and pops itself, in the user's locale: the request's own context is gone by then.
    """
    app = current_app._get_current_object()
    locale = str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
        writer.writerow(export.columns)
        yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        with app.app_context(), force_locale(locale):
            for n, row in enumerate(export.rows(), start=1):
                writer.writerow([_csv_value(v) for v in row])
                if n % BATCH == 0:
                    yield buffer.getvalue().encode("utf-8")
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    return Response(generate(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{export.name}.csv"',
                             "X-Content-Type-Options": "nosniff"})


def write_xlsx(export: Export, target, *, extra_sheets: Sequence[Export] = ()) -> None:
    """Write the table (and optional further sheets) as an XLSX workbook, in write-only mode."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for n, sheet in enumerate((export, *extra_sheets)):
        ws = book.create_sheet(title=(sheet.name if n else "data")[:31])
        ws.freeze_panes = "A2"
        header = []
        for name in sheet.columns:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in sheet.rows():
            out = []
            for value in row:
                if isinstance(value, datetime):
                    value = to_almaty(value).replace(tzinfo=None)
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    if value.startswith("="):  # text, never a formula
                        cell = WriteOnlyCell(ws, value=value)
                        cell.data_type = "s"
                        value = cell
                out.append(value)
            ws.append(out)
    book.save(target)


def xlsx_response(export: Export, *, extra_sheets: Sequence[Export] = ()) -> Response:
    """The table as an XLSX download (openpyxl spools the sheets to disk while writing)."""
    out = io.BytesIO()
    write_xlsx(export, out, extra_sheets=extra_sheets)
    return Response(out.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{export.name}.xlsx"'})


def response(export: Export, fmt: str) -> Response:
    return csv_response(export) if fmt == "csv" else xlsx_response(export)


# helpers ------------------------------------------------------------------------------------

def _lang() -> str:
    return str(get_locale() or "ru")


def region_names() -> dict[str, str]:
    lang = _lang()
    return {r.kato: getattr(r, f"name_{lang}", None) or r.name_en
            for r in db.session.scalars(select(Region))}


def _label(mapping: dict, code) -> str | None:
    return None if code is None else str(mapping.get(code, code))


def _stream_rows(query, convert: Callable[[object], Sequence]) -> Iterable[Sequence]:
    """Rows of a query fetched BATCH at a time (a server-side cursor on PostgreSQL)."""
    for row in db.session.execute(query.execution_options(yield_per=BATCH)):
        yield convert(row)


def _stamp() -> str:
    return date.today().isoformat()


# an organisation's registry -----------------------------------------------------------------

STREAM_COLUMNS = ("id", "site_id", "site", "waste_code", "hazardous", "name", "physical_state",
                  "physical_state_label", "storage_purpose", "storage_purpose_label", "balance_t",
                  "reserved_t", "available_t", "oldest_stock_date", "deadline", "must_offer_since",
                  "passport")


def streams_export(org: Organization) -> Export:
    org_id = org.id

    def rows():
        streams = db.session.scalars(
            select(WasteStream).where(WasteStream.organization_id == org_id)
            .order_by(WasteStream.site_id, WasteStream.name, WasteStream.id)).all()
        sites = {s.id: s.name for s in db.session.scalars(select(Site).where(Site.organization_id == org_id))}
        with_passport = set(db.session.scalars(select(Passport.stream_id).where(
            Passport.stream_id.in_([s.id for s in streams]))))
        for s in streams:
            yield (s.id, s.site_id, sites.get(s.site_id), s.code.code, s.hazardous, s.name,
                   s.physical_state, s.state_label, s.storage_purpose, s.purpose_label, s.balance,
                   s.reserved, s.available, s.oldest_stock_date, deadline(s), s.must_offer_since,
                   s.id in with_passport)

    return Export(f"streams-{org_id}-{_stamp()}", STREAM_COLUMNS, rows)


SITE_COLUMNS = ("id", "name", "kind", "kind_label", "region_kato", "region", "address", "lat", "lon",
                "streams", "balance_t")


def sites_export(org: Organization) -> Export:
    org_id = org.id

    def rows():
        names = region_names()
        totals = {sid: (n, total) for sid, n, total in db.session.execute(
            select(WasteStream.site_id, func.count(WasteStream.id), func.sum(WasteStream.balance))
            .where(WasteStream.organization_id == org_id).group_by(WasteStream.site_id))}
        for s in db.session.scalars(select(Site).where(Site.organization_id == org_id)
                                    .order_by(Site.name, Site.id)):
            n, total = totals.get(s.id, (0, Decimal(0)))
            yield (s.id, s.name, s.kind, _label(SITE_KINDS, s.kind), s.region_kato,
                   names.get(s.region_kato), s.address, s.lat, s.lon, n, total)

    return Export(f"sites-{org_id}-{_stamp()}", SITE_COLUMNS, rows)


JOURNAL_COLUMNS = ("id", "event_date", "stream_id", "stream", "site", "waste_code", "kind",
                   "kind_label", "quantity", "delta", "balance_after", "operation_code",
                   "counterparty", "document", "note", "source", "corrects_id", "import_id",
                   "entered_at", "entered_by")


def journal_export(org: Organization, *, date_from: date | None = None, date_to: date | None = None,
                   stream_id: int | None = None) -> Export:
    """The organisation's journal in entry order, optionally for a period and one stream."""
    org_id = org.id
    q = (select(WasteRecord.id, WasteRecord.event_date, WasteRecord.stream_id, WasteStream.name,
                Site.name, WasteCode.code, WasteRecord.kind, WasteRecord.quantity, WasteRecord.delta,
                WasteRecord.balance_after, WasteRecord.operation_code, WasteRecord.counterparty,
                WasteRecord.document, WasteRecord.note, WasteRecord.source, WasteRecord.corrects_id,
                WasteRecord.import_id, WasteRecord.entered_at, User.full_name)
         .join(WasteStream, WasteRecord.stream_id == WasteStream.id)
         .join(Site, WasteRecord.site_id == Site.id)
         .join(WasteCode, WasteStream.waste_code == WasteCode.code6)
         .outerjoin(User, WasteRecord.entered_by_id == User.id)
         .where(WasteRecord.organization_id == org_id))
    if date_from:
        q = q.where(WasteRecord.event_date >= date_from)
    if date_to:
        q = q.where(WasteRecord.event_date <= date_to)
    if stream_id:
        q = q.where(WasteRecord.stream_id == stream_id)
    q = q.order_by(WasteRecord.id)
    labels = {k: str(v) for k, v in RECORD_LABELS.items()}

    def convert(r):
        return (r[0], r[1], r[2], r[3], r[4], r[5], r[6], labels.get(r[6], r[6]), r[7], r[8], r[9],
                r[10], r[11], r[12], r[13], r[14], r[15], r[16], r[17], r[18])

    name = f"journal-{org_id}" + (f"-stream-{stream_id}" if stream_id else "")
    if date_from or date_to:
        name += f"-{date_from or ''}_{date_to or ''}"
    return Export(name, JOURNAL_COLUMNS, lambda: _stream_rows(q, convert))


FORMATION_COLUMNS = ("id", "name", "kind", "kind_label", "region_kato", "region", "lat", "lon",
                     "state_owned", "address", "area_ha", "volume_m3", "tonnage", "year_formed",
                     "status", "status_label", "hazard_class", "waste_code", "description")


def formations_export(org: Organization) -> Export:
    org_id = org.id

    def rows():
        names = region_names()
        codes = dict(db.session.execute(select(WasteCode.code6, WasteCode.code).where(
            WasteCode.code6.in_(select(Formation.waste_code).where(
                Formation.organization_id == org_id)))).all())
        for f in db.session.scalars(select(Formation).where(Formation.organization_id == org_id)
                                    .order_by(Formation.name, Formation.id)):
            yield (f.id, f.name, f.kind, _label(FORMATION_KINDS, f.kind), f.region_kato,
                   names.get(f.region_kato), f.lat, f.lon, f.state_owned, f.address, f.area_ha,
                   f.volume_m3, f.tonnage, f.year_formed, f.status, _label(FORMATION_STATUSES, f.status),
                   f.hazard_class, codes.get(f.waste_code, f.waste_code), f.description)

    return Export(f"formations-{org_id}-{_stamp()}", FORMATION_COLUMNS, rows)


ORG_EXPORTS = {"streams": streams_export, "sites": sites_export, "journal": journal_export,
               "formations": formations_export}


# officials' lists ---------------------------------------------------------------------------

ORGANIZATION_COLUMNS = ("id", "bin", "name", "region_kato", "region", "state", "state_label",
                        "streams", "balance_t", "flagged_streams")


def organizations_export(*, regions: list[str], region: str = "", text: str = "") -> Export:
    """Organisations with their registry totals (the officials' overview)."""
    totals = (select(WasteStream.organization_id.label("org_id"),
                     func.count(WasteStream.id).label("streams"),
                     func.coalesce(func.sum(WasteStream.balance), 0).label("stock"),
                     func.count(WasteStream.must_offer_since).label("flagged"))
              .group_by(WasteStream.organization_id).subquery())
    q = (select(Organization.id, Organization.bin, Organization.name, Organization.region_kato,
                Organization.state, totals.c.streams, totals.c.stock, totals.c.flagged)
         .outerjoin(totals, totals.c.org_id == Organization.id))
    q = regions_filter(q, Organization.region_kato, regions, region)
    if text:
        q = q.where(or_(Organization.bin.startswith(text),
                        func.lower(Organization.name).contains(text.lower())))
    q = q.order_by(Organization.name, Organization.id)
    states = {k: str(v) for k, v in ORG_STATE_LABELS.items()}
    names: dict[str, str] = {}

    def convert(r):
        if not names:
            names.update(region_names())
        return (r.id, r.bin, r.name, r.region_kato, names.get(r.region_kato), r.state,
                states.get(r.state, r.state), r.streams or 0, Decimal(r.stock or 0), r.flagged or 0)

    return Export(f"organizations-{_stamp()}", ORGANIZATION_COLUMNS, lambda: _stream_rows(q, convert))


STOCK_COLUMNS = ("group", "key", "name", "streams", "balance_t", "flagged_streams")


def stocks_export(*, regions: list[str], region: str = "", group: str = "region") -> Export:
    """Stock on hand grouped by region, waste chapter or hazard."""
    group, q = stocks_query(group, regions, region)

    def rows():
        lang = _lang()
        if group == "region":
            names = region_names()
        elif group == "chapter":
            names = {c.chapter: getattr(c, f"title_{lang}", None) or c.title_en
                     for c in db.session.scalars(select(WasteChapter))}
        else:
            from flask_babel import gettext as _

            names = {"hazardous": _("опасные"), "non_hazardous": _("неопасные")}
        for k, n, stock, flagged in db.session.execute(q):
            yield group, k, names.get(k, k), n, Decimal(stock or 0), flagged

    return Export(f"stocks-{group}-{_stamp()}", STOCK_COLUMNS, rows)


COMPLIANCE_COLUMNS = ("organization_id", "bin", "organization", "region_kato", "stream_id", "stream",
                      "waste_code", "storage_purpose", "balance_t", "oldest_stock_date", "deadline",
                      "must_offer_since")


def compliance_export(*, regions: list[str], region: str = "") -> Export:
    """Every stream flagged as stored past its limit."""
    q = compliance_query(regions, region).add_columns(Organization)

    def rows():
        purposes = {k: str(v) for k, v in STORAGE_PURPOSES.items()}
        for s, org in db.session.execute(q):
            yield (org.id, org.bin, org.name, org.region_kato, s.id, s.name, s.code.code,
                   purposes.get(s.storage_purpose, s.storage_purpose), s.balance,
                   s.oldest_stock_date, deadline(s), s.must_offer_since)

    return Export(f"compliance-{_stamp()}", COMPLIANCE_COLUMNS, rows)
