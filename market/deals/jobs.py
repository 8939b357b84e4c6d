"""Background work of the deals: deals not signed by their deadline lapse."""

from __future__ import annotations

from huey import crontab

from market.core.jobs import periodic
from market.core.timeutil import utcnow


@periodic(crontab(minute="*/5"))
def lapse_overdue() -> int:
    """Every five minutes: lapse the open deals past their signing deadline (each in its own
    transaction); a viewer of the deal page lapses it at once if the job has not yet."""
    from market.deals.lifecycle import lapse_overdue_deals

    return lapse_overdue_deals(utcnow())
