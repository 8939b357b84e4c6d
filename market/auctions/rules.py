"""The rules of bidding: the bid state machine, the proxy engine, steps, anti-sniping, quantities.

Pure functions over amounts in tiyn and tonnes; the operations in ``bidding`` load and lock the
rows and call them. An English auction ranks higher amounts better, a reverse auction (gate
fee: the holder pays the processor) lower ones; ``sign`` turns a reverse auction into an
English one (amounts negated), so one engine serves both.

The proxy engine (eBay's): every bid has a limit, its ``max_amount`` or else its amount. The
leader is the bid with the best limit; of two equal limits the earlier one. The visible price
is the runner-up's limit plus one step, never beyond the leader's limit and never below the
leader's own amount; once the leader's limit reaches the reserve price, the price goes at least
to the reserve. Each accepted bid must be at least the visible price plus one step (reverse: at
most the price minus one step; the first bid: at least, or at most, the start price), so the
visible price moves by at least one step with every accepted bid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from market.core.errors import DomainError
from market.core.statemachine import StateMachine
from market.lots.money import format_kzt
from market.registry.journal import fmt_t

BIDDING_MODES = ("fixed", "english", "sealed", "reverse")
PROXY_MODES = ("english", "reverse")


class BidRefused(DomainError):
    """A rule of bidding refused the bid; the message names the rule and the numbers."""


# The bid state machine ---------------------------------------------------------------------
def _not_a_purchase(bid, **_):
    if bid.mode == "fixed":
        return _l("Покупку по фиксированной цене отозвать нельзя: количество уже закреплено за "
                  "покупателем.")
    return None


def _not_leading(bid, *, auction=None, **_):
    if auction is not None and auction.leader_bid_id == bid.id:
        return _l("Лидирующую ставку отозвать нельзя: она обязывает до конца торгов.")
    return None


def _bidding_open(bid, *, bidding_open=True, **_):
    if not bidding_open:
        return _l("Торги по лоту завершены: ставку уже нельзя изменить или отозвать.")
    return None


BID_FLOW = StateMachine(
    name="bid",
    states=tuple(["pending_deposit", "active", "outbid", "withdrawn", "won", "lost", "declined"]),
    transitions={
        ("pending_deposit", "activate"): "active",  # the deposit is held: the bid counts
        ("pending_deposit", "revise"): "pending_deposit",
        ("pending_deposit", "withdraw"): "withdrawn",
        ("pending_deposit", "lose"): "lost",  # the auction closed before the deposit came
        ("active", "revise"): "active",  # sealed: a new amount; English/reverse: a higher limit
        ("active", "outbid"): "outbid",
        ("active", "withdraw"): "withdrawn",
        ("active", "win"): "won",
        ("active", "lose"): "lost",
        ("active", "decline"): "declined",  # a free transfer request the holder turned down
        ("outbid", "withdraw"): "withdrawn",
        ("outbid", "lose"): "lost",
    },
    guards={
        "withdraw": (_not_a_purchase, _not_leading, _bidding_open),
        "revise": (_bidding_open,),
    },
)


# The proxy engine ---------------------------------------------------------------------------
def sign(mode: str) -> int:
    """+1 when higher bids are better (English), -1 when lower ones are (reverse)."""
    return -1 if mode == "reverse" else 1


def better(mode: str, a: int, b: int | None) -> bool:
    """True when amount a beats amount b (strictly)."""
    return b is None or sign(mode) * a > sign(mode) * b


def best(mode: str, a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if better(mode, a, b) or a == b else b


@dataclass(frozen=True)
class Entry:
    """A counted bid as the engine sees it."""

    bid_id: int | None
    org_id: int
    amount: int
    limit: int


@dataclass(frozen=True)
class Book:
    """An open English or reverse auction: visible price, leader, runner-up's limit."""

    price: int | None = None
    leader: Entry | None = None
    runner_up: int | None = None


def next_bound(mode: str, *, start: int, increment: int, price: int | None) -> int:
    """The least (English) or greatest (reverse) amount the next bid may have."""
    if price is None:
        return start
    return price + increment if mode == "english" else price - increment


def check_amount(mode: str, amount: int, *, start: int, increment: int, price: int | None) -> None:
    """:raise BidRefused: naming the bound when the amount is not a step beyond the price."""
    bound = next_bound(mode, start=start, increment=increment, price=price)
    if mode == "english" and amount < bound:
        if price is None:
            raise BidRefused(_l("Ставка должна быть не меньше %(bound)s (начальная цена)."),
                             bound=format_kzt(bound))
        raise BidRefused(_l("Ставка должна быть не меньше %(bound)s (текущая цена + шаг)."),
                         bound=format_kzt(bound))
    if mode == "reverse":
        if bound < 0:
            raise BidRefused(_l("Цена %(price)s — ниже на шаг %(step)s уже некуда: ставок "
                                "больше не принимают."), price=format_kzt(price),
                             step=format_kzt(increment))
        if amount > bound:
            if price is None:
                raise BidRefused(_l("Ставка должна быть не больше %(bound)s (начальная цена)."),
                                 bound=format_kzt(bound))
            raise BidRefused(_l("Ставка должна быть не больше %(bound)s (текущая цена − шаг)."),
                             bound=format_kzt(bound))


class BidImplausible(BidRefused):
    """An amount absurdly above the price: most likely a typo (a few zeros too many)."""


DEFAULT_MAX_MULTIPLE = 100


def check_plausible(mode: str, amount: int, *, reference: int | None, multiple: int) -> None:
    """:raise BidImplausible: when an English or sealed bid (or proxy limit) is more than
    ``multiple`` times the current price, or the start price before the first bid (a typo
    guard: 1 000 000 000 ₸ typed for 1 000 000 ₸). No reference price or multiple 0: no bound."""
    if mode not in ("english", "sealed") or not reference or multiple <= 0:
        return
    if amount > reference * multiple:
        raise BidImplausible(_l("Сумма %(amount)s больше цены %(price)s более чем в %(n)s раз: похоже "
                                "на опечатку. Проверьте число нулей (не больше %(max)s)."),
                             amount=format_kzt(amount), price=format_kzt(reference), n=multiple,
                             max=format_kzt(reference * multiple))


def visible_price(mode: str, leader: Entry, runner_up: int | None, *, increment: int,
                  reserve: int | None) -> int:
    """The leader's visible price: runner-up's limit + step, within the leader's amount and limit;
    at least the reserve once the leader's limit reaches it."""
    s = sign(mode)
    target = s * leader.amount
    if runner_up is not None:
        target = max(target, min(s * leader.limit, s * runner_up + increment))
    if reserve is not None and s * leader.limit >= s * reserve:
        target = max(target, s * reserve)
    return s * target


def place(mode: str, book: Book, entry: Entry, *, increment: int,
          reserve: int | None) -> tuple[Book, Entry | None]:
    """The book after a new bid from an organisation that is not leading, and the bid it
    displaced from the lead (None when there was no leader or the new bid is outbid at once)."""
    displaced = None
    if book.leader is None:
        leader, runner_up = entry, book.runner_up
    elif entry.org_id == book.leader.org_id:
        raise ValueError("the leader raises its limit with raise_limit()")
    elif better(mode, entry.limit, book.leader.limit):
        leader, runner_up, displaced = entry, best(mode, book.runner_up, book.leader.limit), book.leader
    else:  # an equal limit loses to the earlier one
        leader, runner_up = book.leader, best(mode, book.runner_up, entry.limit)
    price = visible_price(mode, leader, runner_up, increment=increment, reserve=reserve)
    return Book(price=price, leader=leader, runner_up=runner_up), displaced


def raise_limit(mode: str, book: Book, new_limit: int, *, increment: int,
                reserve: int | None) -> Book:
    """The book after the leader moves its limit further (it never bids against itself)."""
    leader = replace(book.leader, limit=new_limit)
    price = visible_price(mode, leader, book.runner_up, increment=increment, reserve=reserve)
    return Book(price=max(price, book.price) if mode == "english" else min(price, book.price),
                leader=leader, runner_up=book.runner_up)


def replay(mode: str, entries, *, increment: int, reserve: int | None) -> Book:
    """The book after the entries in order (a test oracle and a check command's tool)."""
    book = Book()
    for entry in entries:
        if book.leader is not None and entry.org_id == book.leader.org_id:
            book = raise_limit(mode, book, entry.limit, increment=increment, reserve=reserve)
        else:
            book, _ = place(mode, book, entry, increment=increment, reserve=reserve)
    return book


# Anti-sniping -------------------------------------------------------------------------------
def extended_end(ends_at: datetime | None, now: datetime, minutes: int,
                 max_minutes: int) -> datetime | None:
    """The new end when a bid at ``now`` falls in the last N minutes, else None.

    N is the lot's anti-sniping minutes within the platform limit; the end moves N minutes
    later, so at least N minutes remain after a late bid.
    """
    n = max(0, min(minutes or 0, max_minutes))
    if ends_at is None or n == 0:
        return None
    if ends_at - now < timedelta(minutes=n):
        return ends_at + timedelta(minutes=n)
    return None


# Fixed-price purchases ----------------------------------------------------------------------
def purchase_quantity(*, quantity: Decimal, sold: Decimal, min_take: Decimal | None,
                      wanted: Decimal | None, price_basis: str) -> Decimal:
    """Tonnes a purchase takes (``wanted``; None: all that is left), or BidRefused.

    Partial purchases take at least the lot's minimum; when less than the minimum is left,
    only the whole rest can be bought. A price for the whole lot sells the whole lot only.
    """
    left = quantity - sold
    if left <= 0:
        raise BidRefused(_l("Лот распродан: всё количество уже куплено."))
    take = left if wanted is None else wanted
    if take <= 0:
        raise BidRefused(_l("Количество покупки должно быть больше нуля."))
    if take > left:
        raise BidRefused(_l("Можно купить не больше %(left)s т: столько осталось."), left=fmt_t(left))
    if price_basis == "per_lot" and take != quantity:
        raise BidRefused(_l("Цена указана за весь лот: купить можно только весь лот, %(qty)s т."),
                         qty=fmt_t(quantity))
    if min_take is not None and take < min_take and take != left:
        if left < min_take:
            raise BidRefused(_l("Осталось %(left)s т — меньше минимальной партии %(min)s т: купить "
                                "можно только весь остаток."), left=fmt_t(left), min=fmt_t(min_take))
        raise BidRefused(_l("Минимальная партия — %(min)s т."), min=fmt_t(min_take))
    return take


def purchase_total(amount: int, quantity: Decimal | None, price_basis: str) -> int:
    """What a purchase or a won bid costs in tiyn: price x tonnes (per tonne), or the price."""
    if price_basis == "per_lot" or quantity is None:
        return amount
    return int((Decimal(amount) * quantity).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
