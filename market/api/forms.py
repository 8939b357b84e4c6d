"""Form of the API tokens page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from market.accounts.forms import REQUIRED, MultiCheckboxField
from market.api.models import SCOPES
from market.api.tokens import SCOPE_LABELS
from market.core.forms import options


class TokenForm(FlaskForm):
    name = StringField(_l("Название токена"), validators=[DataRequired(REQUIRED), Length(max=120)],
                       description=_l("Для кого или для чего токен, например «Интеграция с 1С»."))
    scopes = MultiCheckboxField(_l("Права"), validators=[DataRequired(_l("Выберите хотя бы одно право."))],
                                default=["registry:read"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scopes.choices = options((s, f"{s} — {SCOPE_LABELS[s]}") for s in SCOPES)
