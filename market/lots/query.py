"""A lot search as a value: parsed from the query string, written back to it, saved, replayed.

The URL holds the whole search (``/lots/?q=шлак&region=350000000&qty_min=10&sort=price``), so
a search can be shared, bookmarked and saved; the same :class:`LotQuery` drives the list, the
map, saved-search alerts and the API. Parsing is lenient: a value that makes no sense is
dropped and reported in ``errors`` (shown above the results), never a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from market.lots.models import PRICING_MODES
from market.lots.money import MoneyError, format_kzt, kzt_input, parse_kzt

SORTS = ("relevance", "newest", "ending", "price", "distance")
MAX_TONNES = Decimal("1e12")
_CODE = re.compile(r"^[\d\s*]+$")


@dataclass
class LotQuery:
    q: str = ""
    code: str = ""  # classifier prefix as digits: "10", "1002", "100201"
    chapter: str = ""
    region: str = ""
    mode: str = ""
    hazardous: str = ""  # "yes" | "no" | ""
    mandatory: bool = False
    recurring: bool = False
    ending: bool = False  # ends within ENDING_SOON_HOURS
    allowed: bool = False  # lots the searcher's organisation may take (licences)
    qty_min: Decimal | None = None
    qty_max: Decimal | None = None
    price_min: int | None = None  # tiyn per tonne
    price_max: int | None = None
    near: int | None = None  # id of one of the searcher's sites: distance sort origin
    sort: str = ""
    errors: list = field(default_factory=list, compare=False, repr=False)

    # ------------------------------------------------------------------ parsing
    @classmethod
    def from_args(cls, args) -> LotQuery:
        """From a query string (a MultiDict or a plain dict of strings)."""
        get = args.get
        query = cls(q=(get("q") or "").strip()[:200])
        code = (get("code") or "").strip()
        if code:
            digits = re.sub(r"\D", "", code)
            if _CODE.match(code) and len(digits) in (2, 4, 6):
                query.code = digits
            else:
                query.errors.append(_l("Код отхода: 2, 4 или 6 цифр, например 10 02 или 10 02 07."))
        chapter = get("chapter") or ""
        query.chapter = chapter if chapter.isdigit() and len(chapter) == 2 else ""
        region = get("region") or ""
        query.region = region if region.isdigit() and len(region) <= 9 else ""
        query.mode = get("mode") if get("mode") in PRICING_MODES else ""
        query.hazardous = get("hazardous") if get("hazardous") in ("yes", "no") else ""
        query.mandatory = get("mandatory") == "1"
        query.recurring = get("recurring") == "1"
        query.ending = get("ending") == "1"
        query.allowed = get("allowed") == "1"
        query.qty_min = query._tonnes(get("qty_min"), _l("Количество от"))
        query.qty_max = query._tonnes(get("qty_max"), _l("Количество до"))
        query.price_min = query._tiyn(get("price_min"), _l("Цена от"))
        query.price_max = query._tiyn(get("price_max"), _l("Цена до"))
        near = get("near") or ""
        query.near = int(near) if near.isdigit() and len(near) < 10 else None
        sort = get("sort") or ""
        query.sort = sort if sort in SORTS else ""
        return query

    def _tonnes(self, value, label) -> Decimal | None:
        text = (value or "").strip().replace(" ", "").replace(",", ".")
        if not text:
            return None
        try:
            qty = Decimal(text)
        except InvalidOperation:
            qty = None
        if qty is None or not qty.is_finite() or qty < 0 or qty > MAX_TONNES:
            self.errors.append(_l("%(field)s: число тонн, например 12,5.", field=label))
            return None
        return qty

    def _tiyn(self, value, label) -> int | None:
        try:
            return parse_kzt(value)
        except MoneyError as exc:
            self.errors.append(_l("%(field)s: %(error)s", field=label, error=exc.args[0]))
            return None

    # ------------------------------------------------------------------ writing back
    def to_args(self) -> dict[str, str]:
        """The non-empty parameters as query-string values (for url_for and saved searches)."""
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "errors":
                continue
            value = getattr(self, f.name)
            if value in (None, "", False):
                continue
            if value is True:
                out[f.name] = "1"
            elif f.name in ("price_min", "price_max"):
                out[f.name] = kzt_input(value)
            elif isinstance(value, Decimal):
                out[f.name] = f"{value.normalize():f}".replace(".", ",")
            else:
                out[f.name] = str(value)
        return out

    @property
    def is_filtered(self) -> bool:
        return any(k != "sort" for k in self.to_args())

    def effective_sort(self, has_text: bool, *, has_origin: bool = False) -> str:
        """The sort applied: relevance needs text, distance needs an origin site."""
        if self.sort == "distance" and not has_origin:
            return "relevance" if has_text else "newest"
        return self.sort or ("relevance" if has_text else "newest")

    def describe(self) -> str:
        """A short human summary (saved-search names, alert e-mails)."""
        parts = [f"«{self.q}»"] if self.q else []
        if self.code:
            parts.append(self.code)
        if self.chapter:
            parts.append(str(_l("раздел %(c)s", c=self.chapter)))
        if self.region:
            from market.extensions import db
            from market.refdata.models import Region

            region = db.session.get(Region, self.region)
            parts.append(region.name if region else self.region)
        if self.mode:
            parts.append(str(PRICING_MODES[self.mode]))
        if self.hazardous:
            parts.append(str(_l("опасные") if self.hazardous == "yes" else _l("неопасные")))
        if self.qty_min is not None or self.qty_max is not None:
            parts.append(f"{self.qty_min or 0}–{self.qty_max or '∞'} т")
        if self.price_min is not None or self.price_max is not None:
            parts.append(f"{format_kzt(self.price_min or 0)}–"
                         f"{format_kzt(self.price_max) if self.price_max is not None else '∞'}")
        if self.mandatory:
            parts.append(str(_l("обязательные")))
        if self.recurring:
            parts.append(str(_l("регулярные поставки")))
        if self.allowed:
            parts.append(str(_l("по моим лицензиям")))
        return ", ".join(parts) or str(_l("все лоты"))
