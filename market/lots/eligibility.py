"""Which lots an organisation may take: the licence rule, in one place.

In Kazakhstan processing or disposing of HAZARDOUS waste needs a licence; other waste needs
none. So an organisation may bid on, buy or request a lot when

- the lot has no waste code (a TMO formation lot without one), or
- its code is not hazardous, or
- one of the organisation's licences, valid on the day, covers the code (a scope that is a
  prefix of it: chapter "10", sub-chapter "1002" or the code "100207"), and, when an R/D
  operation is named, lists that operation.

:func:`allowed_condition` says it in SQL (for search filters over many lots),
:func:`can_take` for one lot with the reason when not. Both read the licences through
:func:`valid_licences`, so they always agree. Bids and transfer requests call
:func:`require_can_take`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from market.accounts.licences import status, written
from market.accounts.models import Licence, Organization
from market.core.errors import DomainError
from market.core.timeutil import today_almaty
from market.extensions import db
from market.lots.models import Lot
from market.refdata.models import WasteCode


def _licences(org: Organization | None) -> list[Licence]:
    if org is None or org.id is None:
        return []
    return list(db.session.scalars(select(Licence).where(
        Licence.organization_id == org.id, Licence.revoked_at.is_(None))
        .order_by(Licence.valid_from.desc(), Licence.id.desc())))


def valid_licences(org: Organization | None, on: date | None = None) -> list[Licence]:
    """The organisation's licences valid on ``on`` (default: today in Almaty), newest first."""
    day = on or today_almaty()
    return [lic for lic in _licences(org) if lic.valid_on(day)]


def allowed_condition(org: Organization | None, on: date | None = None):
    """A WHERE clause over ``Lot``: true for the lots ``org`` may take on ``on``.

    ``lot.waste_code IS NULL OR lot.waste_code IN (codes that are not hazardous or that a
    valid licence covers)``. The subquery reads the classifier (under a thousand rows, the
    licence prefixes applied there as ``LIKE '1002%'``), so PostgreSQL hashes it once and
    checks each lot with one probe: no join, no per-lot LIKE, whatever the number of lots.
    ``org=None`` (anonymous, no organisation): only what needs no licence.
    """
    prefixes = sorted({p for lic in valid_licences(org, on) for p in (lic.scopes or [])})
    covered = [WasteCode.code6.startswith(p, autoescape=True) for p in prefixes]
    allowed_codes = select(WasteCode.code6).where(or_(WasteCode.hazardous.is_(False), *covered))
    return or_(Lot.waste_code.is_(None), Lot.waste_code.in_(allowed_codes))


@dataclass
class Eligibility:
    """What the licence rule says about one lot for one organisation."""

    allowed: bool
    hazardous: bool
    code: WasteCode | None = None
    licence: Licence | None = None  # the valid licence that covers the lot
    reason: object = None  # lazy Russian text when not allowed
    # Why not: no_org | no_licence | expired | not_yet_valid | operation
    why: str | None = None

    @property
    def needs_licence(self) -> bool:
        return self.hazardous and not self.allowed


def eligibility(org: Organization | None, lot: Lot, operation: str | None = None,
                on: date | None = None) -> Eligibility:
    """The licence rule for ``lot`` and ``org`` on ``on``, with the covering licence or reason."""
    day = on or today_almaty()
    code = lot.code if lot.waste_code else None
    if code is None and lot.waste_code:
        code = db.session.get(WasteCode, lot.waste_code)
    if code is None or not code.hazardous:
        return Eligibility(allowed=True, hazardous=False, code=code)
    if org is None:
        return Eligibility(False, True, code, why="no_org", reason=_l(
            "Выберите организацию, от имени которой вы действуете: опасные отходы может брать "
            "только организация с лицензией."))
    operation = (operation or "").strip().upper() or None
    own = [lic for lic in _licences(org) if any(code.code6.startswith(p) for p in lic.scopes or [])]
    current = [lic for lic in own if lic.valid_on(day)]
    fitting = [lic for lic in current if lic.covers(code.code6, operation, on=day)]
    if fitting:
        return Eligibility(True, True, code, licence=fitting[0])
    if current:
        return Eligibility(False, True, code, why="operation", reason=_l(
            "Лицензия № %(number)s покрывает отход %(code)s, но не операцию %(operation)s.",
            number=current[0].number, code=code.code, operation=operation))
    later = [lic for lic in own if status(lic, day) == "not_yet_valid"]
    if later:
        return Eligibility(False, True, code, why="not_yet_valid", reason=_l(
            "Лицензия № %(number)s на отход %(code)s начнёт действовать %(date)s.",
            number=later[-1].number, code=code.code, date=_day(later[-1].valid_from)))
    if own:  # only expired ones cover it
        return Eligibility(False, True, code, why="expired", reason=_l(
            "Лицензия № %(number)s на отход %(code)s истекла %(date)s: для ставки или заявки "
            "нужна действующая лицензия.",
            number=own[0].number, code=code.code, date=_day(own[0].valid_to)))
    return Eligibility(False, True, code, why="no_licence", reason=_l(
        "Отход %(code)s опасный: ставку или заявку может подать только организация с "
        "действующей лицензией, которая покрывает этот код.", code=code.code))


def _day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


def can_take(org: Organization | None, lot: Lot, operation: str | None = None,
             on: date | None = None) -> tuple[bool, str | None]:
    """(True, None) when ``org`` may bid on or request ``lot``; else (False, the reason)."""
    result = eligibility(org, lot, operation, on)
    return result.allowed, (None if result.allowed else str(result.reason))


def require_can_take(org: Organization | None, lot: Lot, operation: str | None = None,
                     on: date | None = None) -> None:
    """:raise DomainError: with the reason, when the licence rule refuses the lot."""
    result = eligibility(org, lot, operation, on)
    if not result.allowed:
        raise DomainError(result.reason)


def needed_scope(lot: Lot) -> str | None:
    """The code as written ("10 02 07*"), which a licence must cover for this lot."""
    if lot.code is not None:
        return lot.code.code
    return written(lot.waste_code) if lot.waste_code else None


__all__ = ["Eligibility", "allowed_condition", "can_take", "eligibility", "needed_scope",
           "require_can_take", "valid_licences"]
