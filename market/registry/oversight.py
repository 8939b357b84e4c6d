"""The officials' views of the registry as queries, shared by the pages and the exports."""

from __future__ import annotations

from sqlalchemy import case, func, or_, select

from market.accounts.models import Organization
from market.refdata.models import WasteCode
from market.registry.models import WasteStream

STOCK_GROUPS = ("region", "chapter", "hazard")


def regions_filter(query, column, regions: list[str], region: str = ""):
    """Limit to the official's regions ([] = the whole country) and to one chosen region."""
    if regions:
        query = query.where(column.in_(regions))
    if region:
        query = query.where(column == region)
    return query


def organizations_query(regions: list[str], region: str = "", text: str = ""):
    q = regions_filter(select(Organization), Organization.region_kato, regions, region)
    if text:
        q = q.where(or_(Organization.bin.startswith(text),
                        func.lower(Organization.name).contains(text.lower())))
    return q.order_by(Organization.name, Organization.id)


def stocks_query(group: str, regions: list[str], region: str = ""):
    """(group, query of (key, streams, balance, flagged)) — stock on hand by region, chapter or hazard."""
    if group not in STOCK_GROUPS:
        group = "region"
    hazardous = case((WasteCode.hazardous, "hazardous"), else_="non_hazardous")
    key = {"region": Organization.region_kato, "chapter": WasteCode.chapter, "hazard": hazardous}[group]
    q = (select(key.label("key"), func.count(WasteStream.id), func.sum(WasteStream.balance),
                func.count(WasteStream.must_offer_since))
         .select_from(WasteStream)
         .join(Organization, WasteStream.organization_id == Organization.id)
         .join(WasteCode, WasteStream.waste_code == WasteCode.code6)
         .group_by(key).order_by(func.sum(WasteStream.balance).desc()))
    return group, regions_filter(q, Organization.region_kato, regions, region)


def compliance_query(regions: list[str], region: str = ""):
    """Streams flagged as stored past their limit, oldest flag first."""
    q = (select(WasteStream).join(Organization, WasteStream.organization_id == Organization.id)
         .where(WasteStream.must_offer_since.is_not(None)))
    q = regions_filter(q, Organization.region_kato, regions, region)
    return q.order_by(WasteStream.must_offer_since, WasteStream.id)
