"""Processing licences of an organisation: add, edit, revoke; scope syntax and validity.

A licence covers waste by classifier prefixes, written by people as "10" (a chapter),
"10 02" (a sub-chapter) or "10 02 07*" (one code), several separated by commas, semicolons
or new lines; they are stored as digits ("10", "1002", "100207"). It covers Basel R/D
operations ("R4", "D10") and is valid from ``valid_from`` to ``valid_to`` inclusive
(Almaty dates; no end date = without a term, as most Kazakh licences are).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from market.accounts.models import Licence, Organization, OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.locking import lock_for_update
from market.core.timeutil import today_almaty, utcnow
from market.extensions import db
from market.refdata.models import Operation, WasteChapter, WasteCode, WasteSubchapter

MAX_SCOPES = 300
# Between entries: commas, semicolons, new lines. Inside an entry people write spaces, dots,
# dashes and the hazard star: "10 02 07*", "10.02.07", "10-02".
_SEPARATORS = re.compile(r"[,;\n\r]+")
_NOISE = re.compile(r"[\s.\-*]+")

STATUS_LABELS = {
    "valid": _l("Действует"),
    "expired": _l("Истекла"),
    "not_yet_valid": _l("Ещё не действует"),
    "revoked": _l("Отозвана"),
}
STATUS_COLORS = {"valid": "success", "expired": "secondary", "not_yet_valid": "info",
                 "revoked": "danger"}


# Scope syntax ------------------------------------------------------------------------------
def written(prefix: str) -> str:
    """"10" → "10", "1002" → "10 02", "100207" → "10 02 07" (the star is added by callers
    that know the code)."""
    return " ".join(prefix[i:i + 2] for i in range(0, len(prefix), 2))


def _entries(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        value = "\n".join(str(v) for v in value)
    return [e.strip() for e in _SEPARATORS.split(value) if e.strip()]


def scope_errors(value: str | Iterable[str] | None) -> tuple[list[str], list[str]]:
    """(prefixes as digits, in the order given and without repeats; messages naming each bad
    entry). The classifier tables decide what exists."""
    entries = _entries(value)
    if not entries:
        return [], [str(_l("Укажите хотя бы одну главу, подраздел или код классификатора."))]
    if len(entries) > MAX_SCOPES:
        return [], [str(_l("Не больше %(n)s записей в одной лицензии.", n=MAX_SCOPES))]
    digits = {e: _NOISE.sub("", e) for e in entries}
    wanted = [d for d in digits.values() if d.isdigit()]
    chapters = set(db.session.scalars(select(WasteChapter.chapter).where(
        WasteChapter.chapter.in_([d for d in wanted if len(d) == 2]))))
    subchapters = set(db.session.scalars(select(WasteSubchapter.subchapter).where(
        WasteSubchapter.subchapter.in_([d for d in wanted if len(d) == 4]))))
    codes = set(db.session.scalars(select(WasteCode.code6).where(
        WasteCode.code6.in_([d for d in wanted if len(d) == 6]))))
    prefixes: list[str] = []
    errors: list[str] = []
    for entry, d in digits.items():
        if not d.isdigit():
            errors.append(str(_l("«%(entry)s» — не код классификатора: пишите главу (10), "
                                 "подраздел (10 02) или код (10 02 07*).", entry=entry)))
        elif len(d) not in (2, 4, 6):
            errors.append(str(_l("«%(entry)s» — нужна глава (2 цифры), подраздел (4 цифры) "
                                 "или код (6 цифр).", entry=entry)))
        elif len(d) == 2 and d not in chapters:
            errors.append(str(_l("«%(entry)s» — такой главы нет в классификаторе.", entry=entry)))
        elif len(d) == 4 and d not in subchapters:
            errors.append(str(_l("«%(entry)s» — такого подраздела нет в классификаторе.",
                                 entry=entry)))
        elif len(d) == 6 and d not in codes:
            errors.append(str(_l("«%(entry)s» — такого кода нет в классификаторе.", entry=entry)))
        elif d not in prefixes:
            prefixes.append(d)
    return prefixes, errors


def parse_scopes(value: str | Iterable[str] | None) -> list[str]:
    """Scope input as people write it → digit prefixes; DomainError naming the bad entries."""
    prefixes, errors = scope_errors(value)
    if errors:
        raise DomainError(" ".join(errors))
    return prefixes


def operation_errors(value: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """(Basel codes, upper-cased, in R1…R13, D1…D15 order; messages for unknown ones)."""
    from market.refdata.search import natural_key

    given = [str(v).strip().upper() for v in (value or []) if str(v).strip()]
    if not given:
        return [], [str(_l("Выберите хотя бы одну операцию R или D."))]
    known = set(db.session.scalars(select(Operation.code).where(Operation.code.in_(given))))
    errors = [str(_l("«%(code)s» — такой операции нет (допустимы R1–R13 и D1–D15).", code=c))
              for c in dict.fromkeys(given) if c not in known]
    ordered = sorted(set(given) & known, key=lambda c: (c[0] != "R", natural_key(c)))
    return ordered, errors


@dataclass(frozen=True)
class ScopeEntry:
    prefix: str
    written: str  # "10", "10 02", "10 02 07*"
    kind: str  # chapter | subchapter | code
    title: str
    hazardous: bool = False


def describe_scopes(prefixes: Iterable[str]) -> dict[str, ScopeEntry]:
    """Written form and title of each prefix (three queries, whatever the number)."""
    from market.refdata.models import _localized

    prefixes = list(dict.fromkeys(prefixes))
    out: dict[str, ScopeEntry] = {}
    by_len = {n: [p for p in prefixes if len(p) == n] for n in (2, 4, 6)}
    for ch in db.session.scalars(select(WasteChapter).where(WasteChapter.chapter.in_(by_len[2]))):
        out[ch.chapter] = ScopeEntry(ch.chapter, ch.chapter, "chapter", _localized(ch, "title")[0])
    for sub in db.session.scalars(select(WasteSubchapter).where(
            WasteSubchapter.subchapter.in_(by_len[4]))):
        out[sub.subchapter] = ScopeEntry(sub.subchapter, written(sub.subchapter), "subchapter",
                                         _localized(sub, "title")[0])
    for code in db.session.scalars(select(WasteCode).where(WasteCode.code6.in_(by_len[6]))):
        out[code.code6] = ScopeEntry(code.code6, code.code, "code", code.title, code.hazardous)
    for p in prefixes:  # a prefix the classifier no longer has: shown as digits
        out.setdefault(p, ScopeEntry(p, written(p), "unknown", ""))
    return out


def scopes_input(licence: Licence) -> str:
    """The licence's scopes as a user would type them (prefill of the edit form)."""
    entries = describe_scopes(licence.scopes or [])
    return ", ".join(entries[p].written for p in licence.scopes or [])


# Validity ------------------------------------------------------------------------------------
def status(licence: Licence, on: date | None = None) -> str:
    """valid | expired | not_yet_valid | revoked on a day (default today in Almaty)."""
    day = on or today_almaty()
    if licence.revoked_at is not None:
        return "revoked"
    if day < licence.valid_from:
        return "not_yet_valid"
    if licence.valid_to is not None and day > licence.valid_to:
        return "expired"
    return "valid"


def licences_of(org: Organization) -> list[Licence]:
    """All licences of an organisation: current ones first, newest first."""
    return list(db.session.scalars(select(Licence).where(Licence.organization_id == org.id)
                                   .order_by(Licence.revoked_at.is_not(None),
                                             Licence.valid_from.desc(), Licence.id.desc())))


# Operations ----------------------------------------------------------------------------------
def can_manage(org: Organization, user) -> bool:
    """Owners and managers of the organisation manage its licences."""
    return bool(user.is_authenticated and user.has_org_role(org, OrgRole.manager))


def _require_manager(org: Organization, actor: User) -> None:
    if not can_manage(org, actor):
        raise PermissionDenied(_l("Лицензиями организации управляют владелец и менеджеры."))


def _clean(*, number: str, issued_by: str | None, valid_from: date | None, valid_to: date | None,
           scopes, operations, note: str | None) -> dict:
    number = " ".join((number or "").split())
    if not number:
        raise DomainError(_l("Укажите номер лицензии."))
    if len(number) > 64:
        raise DomainError(_l("Номер лицензии — не длиннее 64 символов."))
    issued_by = " ".join((issued_by or "").split())
    if len(issued_by) > 200:
        raise DomainError(_l("Название выдавшего органа — не длиннее 200 символов."))
    if valid_from is None:
        raise DomainError(_l("Укажите дату начала действия лицензии."))
    if valid_to is not None and valid_to < valid_from:
        raise DomainError(_l("Дата окончания действия раньше даты начала."))
    prefixes, errors = scope_errors(scopes)
    ops, op_errors = operation_errors(operations)
    if errors or op_errors:
        raise DomainError(" ".join(errors + op_errors))
    return dict(number=number, issued_by=issued_by, valid_from=valid_from, valid_to=valid_to,
                scopes=prefixes, operations=ops, note=(note or "").strip())


def _require_unique_number(org: Organization, number: str, *, exclude_id: int | None = None) -> None:
    stmt = select(func.count(Licence.id)).where(
        Licence.organization_id == org.id, Licence.number == number, Licence.revoked_at.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Licence.id != exclude_id)
    if db.session.scalar(stmt):
        raise DomainError(_l("У организации уже есть действующая запись лицензии № %(number)s.",
                             number=number))


def add_licence(org: Organization, *, actor: User, number: str, valid_from: date | None,
                scopes, operations, issued_by: str | None = "", valid_to: date | None = None,
                note: str | None = "") -> Licence:
    """Record a licence of the organisation (owners and managers)."""
    _require_manager(org, actor)
    fields = _clean(number=number, issued_by=issued_by, valid_from=valid_from, valid_to=valid_to,
                    scopes=scopes, operations=operations, note=note)
    lock_for_update(org)  # two managers adding the same number queue here
    _require_unique_number(org, fields["number"])
    licence = Licence(organization_id=org.id, created_by_id=actor.id, **fields)
    db.session.add(licence)
    db.session.flush()
    audit.record("licence.added", licence, actor=actor, organization=org, **_audit_fields(fields))
    return licence


def edit_licence(licence: Licence, *, actor: User, number: str, valid_from: date | None,
                 scopes, operations, issued_by: str | None = "", valid_to: date | None = None,
                 note: str | None = "") -> list[str]:
    """Correct a licence that is not revoked; returns the names of the changed fields."""
    org = licence.organization
    _require_manager(org, actor)
    if licence.revoked_at is not None:
        raise DomainError(_l("Отозванную лицензию изменить нельзя: добавьте новую."))
    fields = _clean(number=number, issued_by=issued_by, valid_from=valid_from, valid_to=valid_to,
                    scopes=scopes, operations=operations, note=note)
    lock_for_update(org)
    if fields["number"] != licence.number:
        _require_unique_number(org, fields["number"], exclude_id=licence.id)
    changed = sorted(k for k, v in fields.items() if getattr(licence, k) != v)
    if changed:
        old = {k: getattr(licence, k) for k in changed}
        for key in changed:
            setattr(licence, key, fields[key])
        audit.record("licence.edited", licence, actor=actor, organization=org, fields=changed,
                     **_audit_fields({k: fields[k] for k in changed}),
                     **{f"{k}_was": v for k, v in _audit_fields(old).items()})
    db.session.flush()
    return changed


def revoke_licence(licence: Licence, *, actor: User, reason: str) -> None:
    """Mark a licence revoked (by the issuer, or entered by mistake); it stays in the history."""
    org = licence.organization
    _require_manager(org, actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Укажите причину отзыва лицензии."))
    lock_for_update(licence)
    if licence.revoked_at is not None:
        raise DomainError(_l("Лицензия уже отозвана."))
    licence.revoked_at = utcnow()
    licence.revoked_by_id = actor.id
    licence.revoke_reason = reason
    audit.record("licence.revoked", licence, actor=actor, organization=org,
                 number=licence.number, reason=reason)
    db.session.flush()


def _audit_fields(fields: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in fields.items()}
