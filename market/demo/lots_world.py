"""Demo exchange: the smelter offers slag at a fixed price and its overdue dust (mandatory)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from market.accounts.models import Organization, User
from market.core.timeutil import utcnow
from market.demo.lot_files_world import attach_demo_files
from market.extensions import db
from market.lots.operations import create_lot, publish_lot
from market.registry.models import WasteStream


def build_lots(users: dict[str, User], orgs: dict[str, Organization]) -> None:
    smelter, org = users["smelter@qaldyq.kz"], orgs["smelter@qaldyq.kz"]
    streams = {s.waste_code: s for s in db.session.scalars(
        select(WasteStream).where(WasteStream.organization_id == org.id))}
    slag = create_lot(org, actor=smelter, stream=streams["100601"],
                      title="Гранулированный медеплавильный шлак, 50 000 т",
                      description="Шлак отражательной плавки, фракция 0–5 мм, Cu 0,6–0,8 %. "
                                  "Подходит для цемента и абразивов. Самовывоз ж/д транспортом.",
                      quantity="50000", min_take="1000", pricing_mode="fixed", price=150_000,
                      price_basis="per_t", delivery="pickup")
    attach_demo_files(slag, smelter)  # a lab analysis (PDF) and a photo
    publish_lot(slag, actor=smelter)
    dust = create_lot(org, actor=smelter, stream=streams["100603"],
                      title="Пыль газоочистки (Pb, Zn) — обязательное предложение",
                      description="Пыль электрофильтров с содержанием цинка 15–20 %, свинца 8–12 %. "
                                  "Передаётся переработчику с лицензией на опасные отходы.",
                      quantity="420", pricing_mode="reverse", price=4_000_000, increment=100_000,
                      ends_at=utcnow() + timedelta(days=20), anti_snipe_minutes=10,
                      price_basis="per_t", delivery="pickup")
    publish_lot(dust, actor=smelter)
