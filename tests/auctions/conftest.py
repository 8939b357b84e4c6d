"""Fixtures of the bidding tests: a stocked stream, published lots by mode, bidders."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from market.core.timeutil import utcnow
from market.lots.operations import create_lot, publish_lot
from market.registry.journal import record

DEFAULTS = {
    "fixed": {"price": 500_000},
    "english": {"price": 100_000_000, "increment": 25_000_000},  # 1 000 000 ₸, step 250 000 ₸
    "reverse": {"price": 800_000, "increment": 50_000},  # 8 000 ₸ a tonne, step 500 ₸
    "sealed": {"price": 300_000},
    "free": {},
}


@pytest.fixture
def stocked(make_stream, owner):
    stream = make_stream()
    record(stream, actor=owner, kind="generated", quantity="1000", event_date=date(2026, 1, 1))
    return stream


@pytest.fixture
def make_lot(holder, owner, stocked):
    """A published lot of ``mode`` from the stocked stream (10 t, two days to go by default)."""

    def make(mode="english", *, qty="10", days=2, publish=True, stream=None, **kw):
        terms = {**DEFAULTS[mode], **kw}
        if mode in ("english", "reverse", "sealed"):
            terms.setdefault("ends_at", utcnow() + timedelta(days=days))
        lot = create_lot(holder, actor=owner, stream=stream or stocked, title=f"Лот ({mode})",
                         quantity=qty, pricing_mode=mode, **terms)
        if publish:
            publish_lot(lot, actor=owner)
        return lot

    return make


@pytest.fixture
def bidder(create_org):
    """A verified processor; returns (organisation, its owner)."""

    def make(**kw):
        org = create_org(kinds=("processor",), **kw)
        return org, org.owners[0].user

    return make
