"""Fixtures of the exchange's tests."""

from datetime import date, timedelta

import pytest

from market.core.timeutil import utcnow
from market.extensions import db
from market.lots.operations import create_lot, publish_lot
from market.registry import operations as reg
from market.registry.journal import record

OTHER_REGION = "190000000"  # Алматинская область


@pytest.fixture
def market(holder, owner, site, make_stream):
    """Six published lots on streams with different codes (two regions) and one draft."""
    other_site = reg.create_site(holder, actor=owner, name="Отвал №2", kind="storage",
                                 region_kato=OTHER_REGION, address="г. Конаев")

    def offer(code, title, description="", *, on_site=None, publish=True, **kw):
        stream = make_stream(code=code, name=title, on_site=on_site)
        record(stream, actor=owner, kind="generated", quantity="100", event_date=date(2026, 1, 1))
        kw.setdefault("pricing_mode", "fixed")
        if kw["pricing_mode"] != "free":
            kw.setdefault("price", 500_000)
        lot = create_lot(holder, actor=owner, stream=stream, title=title, description=description,
                         quantity="10", **kw)
        if publish:
            publish_lot(lot, actor=owner)
        return lot

    lots = {
        "slag": offer("100601", "Шлак медеплавильный",
                      "Гранулированный, фракция 0–5 мм, Балхаш", price=300_000),
        "ash": offer("100102", "Зола-унос ТЭЦ", "Сухая, регулярные отгрузки",
                     pricing_mode="free"),
        "kk": offer("100201", "Күл және қож қалдықтары", "Қалдықтар ашық алаңда сақталады",
                    price=100_000),
        "paper": offer("150101", "Картонная упаковка", "Тюки макулатуры", price=200_000),
        # Matches "шлак" in its description only; created after "slag" (newer id).
        "scrap": offer("170405", "Металлолом чёрный", "Содержит примесь шлака и окалины",
                       price=900_000),
        "auction": offer("100601", "Шлак отвальный", "Аукцион на отвальный шлак",
                         on_site=other_site, pricing_mode="english", price=50_000,
                         increment=10_000, ends_at=utcnow() + timedelta(days=3)),
    }
    lots["draft"] = offer("100601", "Шлак медеплавильный (черновик)", publish=False)
    db.session.flush()
    return lots


