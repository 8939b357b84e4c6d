"""Lots: create (draft), publish (reserving the quantity), edit, withdraw, close."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l

from market.accounts.models import Organization, OrgRole, User
from market.core import audit
from market.core.errors import DomainError, PermissionDenied
from market.core.locking import lock_for_update
from market.core.statemachine import StateMachine
from market.core.timeutil import utcnow
from market.core.txn import after_commit
from market.extensions import db
from market.lots import reservation, watch
from market.lots.models import DELIVERY_TERMS, PRICE_BASES, PRICING_MODES, Lot, LotEvent, months_in
from market.lots.search import refresh_search_text
from market.registry.journal import fmt_t, parse_quantity


def _verified(lot, **_):
    if not lot.organization.can_act_on_market():
        return _l("Публиковать лоты могут только подтверждённые организации.")
    return None


def _passport(lot, **_):
    if lot.stream is not None and lot.stream.needs_passport:
        return _l("Отход опасный: сначала заполните паспорт опасного отхода.")
    return None


def _mandatory_period(lot, *, now=None, **_):
    if lot.state == "published" and lot.mandatory:
        until = lot.published_at + timedelta(days=current_app.config["MANDATORY_OFFER_DAYS"])
        if (now or utcnow()) < until:
            return _l("Обязательное предложение должно оставаться опубликованным до %(date)s.",
                      date=until.date().isoformat())
    return None


LOT_FLOW = StateMachine(
    name="lot",
    states=("draft", "published", "closed", "awarded", "transferred", "withdrawn"),
    transitions={
        ("draft", "publish"): "published",
        ("draft", "withdraw"): "withdrawn",
        ("published", "withdraw"): "withdrawn",
        ("published", "close"): "closed",
        ("published", "award"): "awarded",
        ("awarded", "transfer"): "transferred",
        # The deal failed (market.deals): a sold-out fixed-price lot takes the tonnes back,
        # an auction's holder closes the lot without an award.
        ("awarded", "reopen"): "published",
        ("awarded", "close"): "closed",
    },
    guards={"publish": (_verified, _passport), "withdraw": (_mandatory_period,)},
)

AUCTION_MODES = {"english", "sealed", "reverse"}


def _require_manager(org: Organization, actor: User) -> None:
    if not actor.has_org_role(org, OrgRole.manager):
        raise PermissionDenied(_l("Лотами организации управляют владелец и менеджеры."))


def _event(lot: Lot, kind: str, actor: User | None, **changes) -> None:
    db.session.add(LotEvent(lot_id=lot.id, kind=kind, actor_id=getattr(actor, "id", None),
                            changes={k: str(v) if v is not None else None for k, v in changes.items()}))


def _check_terms(*, quantity: Decimal, min_take, pricing_mode: str, price, increment,
                 reserve_price, ends_at: datetime | None, price_basis: str, delivery: str,
                 now: datetime) -> None:
    if pricing_mode not in PRICING_MODES:
        raise DomainError(_l("Неизвестный способ продажи."))
    if price_basis not in PRICE_BASES or delivery not in DELIVERY_TERMS:
        raise DomainError(_l("Проверьте базис цены и условия поставки."))
    if quantity <= 0:
        raise DomainError(_l("Количество должно быть больше нуля."))
    if min_take is not None and not (0 < min_take <= quantity):
        raise DomainError(_l("Минимальная партия должна быть больше нуля и не больше лота."))
    for value in (price, increment, reserve_price):
        if value is not None and value < 0:
            raise DomainError(_l("Цена не может быть отрицательной."))
    if pricing_mode in ("fixed", "english", "reverse") and price is None:
        raise DomainError(_l("Укажите цену (для аукциона — начальную)."))
    if pricing_mode in ("english", "reverse") and not increment:
        raise DomainError(_l("Укажите шаг аукциона."))
    if pricing_mode in AUCTION_MODES and (ends_at is None or ends_at <= now):
        raise DomainError(_l("Укажите время окончания торгов в будущем."))
    if pricing_mode == "english" and reserve_price is not None and reserve_price < price:
        raise DomainError(_l("Резервная цена не может быть ниже начальной."))


MIN_SUPPLY_MONTHS, MAX_SUPPLY_MONTHS = 2, 120


def recurring_supply(monthly, supply_from: date | None, supply_to: date | None):
    """A recurring supply as (tonnes a month, first day, last day, total tonnes).

    The period is whole calendar months, from supply_from's month to supply_to's month (2 to
    120 months); the lot's quantity is the total, monthly x months. What the registry reserves
    is the first month only (Lot.reserve_quantity): later months come from future generation.
    """
    monthly = parse_quantity(monthly)
    if monthly <= 0:
        raise DomainError(_l("Количество в месяц должно быть больше нуля."))
    if not (supply_from and supply_to):
        raise DomainError(_l("Для регулярной поставки укажите период: первый и последний месяц."))
    start = supply_from.replace(day=1)
    end = supply_to.replace(day=calendar.monthrange(supply_to.year, supply_to.month)[1])
    months = months_in(start, end)
    if months < MIN_SUPPLY_MONTHS:
        raise DomainError(_l("Период регулярной поставки — не меньше двух месяцев, последний месяц "
                             "позже первого. Для одной партии выберите разовую поставку."))
    if months > MAX_SUPPLY_MONTHS:
        raise DomainError(_l("Период регулярной поставки — не больше %(n)s месяцев."),
                          n=MAX_SUPPLY_MONTHS)
    return monthly, start, end, monthly * months


def create_lot(org: Organization, *, actor: User, title: str, quantity, pricing_mode: str,
               stream=None, formation=None, description: str = "", min_take=None,
               price: int | None = None, increment: int | None = None,
               reserve_price: int | None = None, ends_at: datetime | None = None,
               anti_snipe_minutes: int = 0, price_basis: str = "per_t",
               delivery: str = "pickup", available_from: date | None = None,
               available_to: date | None = None, monthly_quantity=None,
               supply_from: date | None = None, supply_to: date | None = None,
               now: datetime | None = None) -> Lot:
    """A draft lot from a stream of the organisation, or from one of its formations.

    A recurring supply gives `monthly_quantity` and the period instead of a one-off quantity
    (see recurring_supply); `quantity` may then be omitted: it is the total over the period.
    """
    _require_manager(org, actor)
    if (stream is None) == (formation is None):
        raise DomainError(_l("Лот создаётся из потока отходов или из объекта ТМО."))
    source = stream or formation
    if source.organization_id != org.id:
        raise PermissionDenied(_l("Можно предлагать только отходы и ТМО своей организации."))
    now = now or utcnow()
    min_take = parse_quantity(min_take) if min_take not in (None, "") else None
    monthly = None
    if monthly_quantity not in (None, ""):
        monthly, supply_from, supply_to, qty = recurring_supply(monthly_quantity, supply_from,
                                                                supply_to)
        if quantity not in (None, "") and parse_quantity(quantity) != qty:
            raise DomainError(_l("Количество регулярной поставки — это объём в месяц, умноженный "
                                 "на число месяцев: %(total)s т."), total=fmt_t(qty))
        if min_take is not None and min_take > monthly:
            raise DomainError(_l("Минимальная партия регулярной поставки не больше объёма в месяц."))
    else:
        if supply_from or supply_to:
            raise DomainError(_l("Период поставки указывается только для регулярной поставки."))
        if quantity in (None, ""):
            raise DomainError(_l("Укажите количество."))
        qty = parse_quantity(quantity)
    if available_from and available_to and available_from > available_to:
        raise DomainError(_l("Дата начала доступности позже даты окончания."))
    max_snipe = current_app.config["ANTI_SNIPE_MAX_MINUTES"]
    if not 0 <= anti_snipe_minutes <= max_snipe:
        raise DomainError(_l("Продление при поздней ставке — от 0 до %(max)s минут."), max=max_snipe)
    _check_terms(quantity=qty, min_take=min_take, pricing_mode=pricing_mode, price=price,
                 increment=increment, reserve_price=reserve_price, ends_at=ends_at,
                 price_basis=price_basis, delivery=delivery, now=now)
    if stream is not None:
        site = stream.site
        place = {"region_kato": site.region_kato, "lat": site.lat, "lon": site.lon}
        code = stream.waste_code
    else:
        place = {"region_kato": formation.region_kato, "lat": formation.lat, "lon": formation.lon}
        code = formation.waste_code
    lot = Lot(organization_id=org.id, created_by_id=actor.id,
              stream_id=getattr(stream, "id", None), formation_id=getattr(formation, "id", None),
              title=title.strip(), description=(description or "").strip(), waste_code=code,
              quantity=qty, min_take=min_take, monthly_quantity=monthly, supply_from=supply_from,
              supply_to=supply_to, available_from=available_from, available_to=available_to,
              delivery=delivery, pricing_mode=pricing_mode, price_basis=price_basis, price=price,
              increment=increment, reserve_price=reserve_price, ends_at=ends_at,
              anti_snipe_minutes=anti_snipe_minutes,
              mandatory=bool(stream is not None and stream.must_offer_since), **place)
    refresh_search_text(lot)
    db.session.add(lot)
    db.session.flush()
    _event(lot, "created", actor, quantity=qty, mode=pricing_mode)
    audit.record("lot.created", lot, actor=actor, organization=org, title=lot.title)
    return lot


def publish_lot(lot: Lot, *, actor: User, now: datetime | None = None) -> None:
    """Publish a draft: the quantity is reserved against the registry in the same transaction."""
    _require_manager(lot.organization, actor)
    lock_for_update(lot)  # a double-clicked "publish": the second waits, then finds it published
    now = now or utcnow()
    LOT_FLOW.check(lot, "publish")
    if lot.ends_at is not None and lot.ends_at <= now:
        raise DomainError(_l("Время окончания торгов уже прошло: измените его."))
    if lot.stream is not None:
        reservation.reserve(lot.stream, lot.reserve_quantity)
        lot.mandatory = lot.stream.must_offer_since is not None
    else:
        reservation.check_formation(lot.formation, lot.quantity, exclude_lot_id=lot.id)
    LOT_FLOW.fire(lot, "publish")
    lot.published_at = now
    lot.updated_at = now
    _event(lot, "published", actor, quantity=lot.quantity)
    audit.record("lot.published", lot, actor=actor, organization=lot.organization,
                 quantity=str(lot.quantity), mandatory=lot.mandatory)
    db.session.flush()
    after_commit(_announce, lot.id)


def _announce(lot_id: int) -> None:
    from market.lots.jobs import lot_published

    lot_published(lot_id)


def withdraw_lot(lot: Lot, *, actor: User, reason: str, now: datetime | None = None) -> None:
    """Take a lot off the market and release its reserve (mandatory offers: after the minimum)."""
    _require_manager(lot.organization, actor)
    if not (reason or "").strip():
        raise DomainError(_l("Укажите причину снятия лота."))
    lock_for_update(lot)  # the closing job racing a withdrawal: one wins, the other is refused
    was_open = lot.state == "published"
    LOT_FLOW.fire(lot, "withdraw", now=now)
    if was_open and lot.stream is not None:
        reservation.release(lot.stream, lot.reserve_quantity)
    lot.state_reason = reason.strip()
    lot.closed_at = lot.updated_at = now or utcnow()
    _event(lot, "withdrawn", actor, reason=lot.state_reason)
    audit.record("lot.withdrawn", lot, actor=actor, organization=lot.organization,
                 reason=lot.state_reason)
    if was_open:
        watch.notify_watchers(lot, watch.withdrawn_text(lot), actor=actor)
    if was_open and lot.mandatory:  # after its minimum period (the guard): offered, no taker
        from market.lots.closing import record_no_taker

        record_no_taker(lot, how_closed="withdrawn", now=lot.closed_at, actor=actor)
    db.session.flush()


EDITABLE = ("title", "description", "available_from", "available_to", "delivery", "min_take",
            "quantity", "monthly_quantity", "supply_from", "supply_to")
SUPPLY_FIELDS = ("monthly_quantity", "supply_from", "supply_to")


def _supply_fields(lot: Lot, fields: dict) -> dict:
    """The edited fields with a recurring supply normalised and its total as the quantity.

    Whether a lot is a one-off or a recurring supply is chosen when it is created.
    """
    fields = dict(fields)
    if not lot.is_recurring:
        if any(fields.pop(key, None) not in (None, "") for key in SUPPLY_FIELDS):
            raise DomainError(_l("Вид поставки (разовая или регулярная) выбирается при создании "
                                 "лота."))
        return fields
    monthly, start, end, total = recurring_supply(
        fields.pop("monthly_quantity", lot.monthly_quantity),
        fields.pop("supply_from", lot.supply_from), fields.pop("supply_to", lot.supply_to))
    quantity = fields.pop("quantity", None)
    if quantity not in (None, "") and parse_quantity(quantity) != total:
        raise DomainError(_l("Количество регулярной поставки — это объём в месяц, умноженный "
                             "на число месяцев: %(total)s т."), total=fmt_t(total))
    fields.update(monthly_quantity=monthly, supply_from=start, supply_to=end, quantity=total)
    return fields


# lot -> tonnes the quantity may not go below (what was already sold at a fixed price), or
# None; installed by the deals domain (which locks the auction row while it answers).
QUANTITY_FLOORS: list = []


def _check_floor(lot: Lot, quantity: Decimal) -> None:
    for floor in QUANTITY_FLOORS:
        sold = floor(lot)
        if sold is not None and quantity < sold:
            raise DomainError(_l("Нельзя уменьшить количество до %(qty)s т: уже продано %(sold)s т."),
                              qty=fmt_t(quantity), sold=fmt_t(sold))


def edit_lot(lot: Lot, *, actor: User, **fields) -> list[str]:
    """Edit what does not harm bidders; every change goes into the lot's public history."""
    _require_manager(lot.organization, actor)
    if lot.state not in ("draft", "published"):
        raise DomainError(_l("Закрытый лот изменить нельзя."))
    unknown = set(fields) - set(EDITABLE)
    if unknown and lot.state == "published":
        raise DomainError(_l("После публикации нельзя менять способ продажи и правила торгов."))
    fields = _supply_fields(lot, fields)
    changes = {}
    for key, value in fields.items():
        if key in ("quantity", "min_take"):
            if key == "quantity" and value in (None, ""):
                raise DomainError(_l("Укажите количество."))
            value = parse_quantity(value) if value not in (None, "") else None
        if getattr(lot, key) != value:
            changes[key] = (getattr(lot, key), value)
    new = {k: changes[k][1] if k in changes else getattr(lot, k)
           for k in ("quantity", "min_take", "monthly_quantity")}
    if "quantity" in changes and lot.state == "published":
        _check_floor(lot, new["quantity"])
    if new["min_take"] is not None and not (
            0 < new["min_take"] <= min(new["quantity"], new["monthly_quantity"] or new["quantity"])):
        raise DomainError(_l("Минимальная партия должна быть больше нуля и не больше лота "
                             "(для регулярной поставки — не больше объёма в месяц)."))
    if lot.state == "published" and lot.stream is not None:
        # What the lot holds back in the registry: the quantity, or a recurring supply's month.
        old, now_held = lot.reserve_quantity, (new["monthly_quantity"] if lot.is_recurring
                                               else new["quantity"])
        if now_held > old:
            reservation.reserve(lot.stream, now_held - old)
        elif now_held < old:
            reservation.release(lot.stream, old - now_held)
    elif "quantity" in changes and lot.state == "published":
        reservation.check_formation(lot.formation, changes["quantity"][1], exclude_lot_id=lot.id)
    for key, (_old, value) in changes.items():
        setattr(lot, key, value)
    if {"title", "description", "waste_code"} & set(changes):
        refresh_search_text(lot)
    if changes:
        lot.updated_at = utcnow()
        _event(lot, "edited", actor, **{k: f"{o} → {n}" for k, (o, n) in changes.items()})
        audit.record("lot.edited", lot, actor=actor, organization=lot.organization,
                     fields=sorted(changes))
        if lot.state == "published":
            watch.notify_watchers(lot, watch.edited_text(lot, sorted(changes)), actor=actor)
    db.session.flush()
    return sorted(changes)
