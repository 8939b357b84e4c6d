"""Forms of the deal page: the buyer's withdrawal (reason), the next bidder's refusal, and the
holder's choice after a failed deal (buttons with the CSRF token only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from market.accounts.forms import REQUIRED
from market.deals.lifecycle import REASON_MAX


class WithdrawDealForm(FlaskForm):
    reason = TextAreaField(_l("Причина отказа от сделки"),
                           validators=[DataRequired(REQUIRED), Length(max=REASON_MAX)])


class DeclineDealForm(FlaskForm):
    reason = TextAreaField(_l("Причина (необязательно)"),
                           validators=[Optional(), Length(max=REASON_MAX)])


class DealActionForm(FlaskForm):
    """A button that only needs the CSRF token (offer to the next bidder, close the lot)."""
