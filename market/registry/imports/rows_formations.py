"""Importing formations into the TMO cadastre."""


from __future__ import annotations

import logging
from typing import NamedTuple

from flask_babel import lazy_gettext as _l

from market.accounts.models import Organization, User
from market.core.errors import DomainError
from market.extensions import db
from market.registry.imports.files import FALSE_WORDS, FORMATION_COLUMNS, TRUE_WORDS, RowError
from market.registry.imports.runner import _Import
from market.registry.imports.values import _code6, _labels, _lookup, _number_text, _text, _whole

log = logging.getLogger("qaldyq.imports")


# the cadastre -------------------------------------------------------------------------------

class FormationRow(NamedTuple):
    row: int
    values: dict


class FormationImport(_Import):
    kind = "formations"
    rules_in_write_pass = True

    def prepare(self) -> None:
        from market.cadastre.models import FORMATION_KINDS, FORMATION_STATUSES

        self.kinds = _labels(FORMATION_KINDS, list(FORMATION_KINDS))
        self.statuses = _labels(FORMATION_STATUSES, list(FORMATION_STATUSES))

    def check(self, number: int, values: dict) -> FormationRow | None:
        before = len(self.errors)
        out = {}
        for column in ("name", "address", "description"):
            out[column] = _text(values.get(column))
        for column in ("lat", "lon"):
            value = values.get(column)
            out[column] = _number_text(value) if isinstance(value, str) else value
        for column in ("area_ha", "volume_m3", "tonnage"):
            value = values.get(column)
            out[column] = None if value is None else _number_text(value)

        kind = values.get("kind")
        out["kind"] = None if kind is None else (_lookup(self.kinds, kind) or _text(kind))
        status = values.get("status")
        out["status"] = "active" if status is None else (_lookup(self.statuses, status) or _text(status))

        region = values.get("region_kato")
        out["region_kato"] = None if region is None else (
            str(_whole(region)) if _whole(region) is not None else _text(region))
        code = values.get("waste_code")
        out["waste_code"] = None if code is None else (
            _code6(code) if isinstance(code, int | float) else _text(code))

        for column in ("year_formed", "hazard_class"):
            value = values.get(column)
            if value is None:
                out[column] = None
            else:
                whole = _whole(value)
                out[column] = whole if whole is not None else _text(value)

        owned = values.get("state_owned")
        if owned is None or owned is False:
            out["state_owned"] = False
        elif owned is True:
            out["state_owned"] = True
        else:
            word = _text(owned).casefold()
            if word in TRUE_WORDS:
                out["state_owned"] = True
            elif word in FALSE_WORDS:
                out["state_owned"] = False
            else:
                self.error(number, "state_owned", _l("Укажите «да» или «нет» (1 или 0)."))
        return FormationRow(number, out) if len(self.errors) == before else None

    def prepare_write(self, items: list[FormationRow]) -> None:
        super().prepare_write(items)
        self.writer = db.session.get(User, self.actor_id)
        self.organization = db.session.get(Organization, self.org_id)

    def write(self, item: FormationRow) -> None:
        from market.cadastre.operations import create_formation

        create_formation(self.organization, actor=self.writer, **item.values)

    def recheck(self, item: FormationRow, exc: DomainError) -> list[RowError]:
        column = getattr(exc, "field", None)
        return [RowError(item.row, column if column in FORMATION_COLUMNS else None, exc)]
