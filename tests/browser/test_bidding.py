"""Browser: two processors bid against each other on a holder's English auction, each in its own
browser. Each page follows the other's bids without a reload (the bid panel polls), a late bid
extends the end (anti-sniping), and when the auction closes the winner finds the deal.

The server's clock travels (time_machine, in this process, so also in the live server's thread);
the browsers' clocks travel with it (Playwright's clock), so their countdowns stay in step.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import Page, expect
from sqlalchemy import select

from market.accounts.models import Membership, Organization, OrgRole, User
from market.accounts.operations import find_user, hash_password
from market.auctions.auction import auction_of
from market.auctions.views import POLL_SECONDS
from market.core.timeutil import aware, to_almaty, utcnow
from market.core.txn import commit
from market.deals.models import Deal
from market.demo.world import DEMO_PASSWORD
from market.extensions import db
from market.lots.jobs import close_expired
from market.lots.models import Lot
from market.lots.operations import create_lot, publish_lot
from market.registry.models import WasteStream
from tests.browser.test_market import log_in
from tests.browser.test_onboarding import watch_for_problems

HOLDER = "smelter@qaldyq.kz"  # ТОО «Балқаш Мыс», the copper smelter
# Processor A: АО «Central Asia Cement»; processor B: the battery recycler. Both verified; the
# bids come from a manager of each (not the owner): the role the rules require at least.
OWNERS = {"a": "cement@qaldyq.kz", "b": "battery@qaldyq.kz"}
MANAGERS = {"a": "bidder-a@qaldyq.kz", "b": "bidder-b@qaldyq.kz"}
TITLE = "Медеплавильный шлак, 100 т — аукцион"
TONNES = 100
START, STEP = 1_200_000, 50_000  # 12 000 ₸ a tonne, step 500 ₸ (tiyn)
SNIPE_MINUTES = 5
LIVE = (2 * POLL_SECONDS + 5) * 1000  # ms: two polls of the panel and some slack


def money(tenge: int, *, alone: bool = False) -> re.Pattern:
    """12 000 ₸ as the kzt filter writes it (thin or non-breaking spaces in between); with
    ``alone``, nothing else in the text."""
    amount = f"{tenge:,}".replace(",", r"\s") + r"\s₸"
    return re.compile(rf"^\s*{amount}\s*$" if alone else amount)


def almaty(value) -> str:
    """A time as the panel shows it (dt 'short': Asia/Almaty)."""
    return to_almaty(value).strftime("%d.%m.%Y %H:%M")


def _org_of(email: str) -> Organization:
    user = find_user(email)
    return db.session.scalar(select(Organization).join(Membership).where(
        Membership.user_id == user.id, Membership.role == OrgRole.owner.value))


def _manager(email: str, org: Organization) -> None:
    """A manager (not the owner) of a processor, logging in with the demo password."""
    if find_user(email) is not None:
        return
    user = User(email=email, full_name=f"Менеджер {org.name}", password_hash=hash_password(DEMO_PASSWORD),
                email_confirmed_at=utcnow(), locale="ru")
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user=user, organization=org, role=OrgRole.manager.value))
    user.current_org_id = org.id


@pytest.fixture(autouse=True)
def _patient_expect():
    """The machine is shared and busy: 10 s (not 5) for what a page shows after a request."""
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default, for the tests that run after


@pytest.fixture
def auction(live_server):
    """The smelter's English auction on 100 t of slag: ends in 10 minutes, a bid in the last
    5 minutes extends it by 5. Returns (lot id, its end, the processors' names)."""
    with live_server.app.app_context():
        smelter = find_user(HOLDER)
        org = _org_of(HOLDER)
        names = {}
        for side, owner in OWNERS.items():
            processor = _org_of(owner)
            _manager(MANAGERS[side], processor)
            names[side] = processor.name
        stream = db.session.scalar(select(WasteStream).where(
            WasteStream.organization_id == org.id, WasteStream.waste_code == "100601"))
        lot = create_lot(org, actor=smelter, stream=stream, title=TITLE, quantity=str(TONNES),
                         description="Отвальный шлак, самовывоз.", pricing_mode="english",
                         price=START, increment=STEP, ends_at=utcnow() + timedelta(minutes=10),
                         anti_snipe_minutes=SNIPE_MINUTES)
        publish_lot(lot, actor=smelter)
        commit()
        return lot.id, aware(lot.ends_at), names, org.name


def open_lot(new_context, base: str, side: str, lot_id: int) -> tuple[Page, list[str]]:
    """Processor ``side``'s manager in its own browser, on the lot page."""
    context = new_context()
    context.clock.install()  # real time flowing, but it can jump when the server's does
    page = context.new_page()
    problems = watch_for_problems(page)
    log_in(page, base, MANAGERS[side])
    page.goto(f"{base}/lots/{lot_id}")
    expect(page.locator("main h1")).to_have_text(TITLE)
    expect(panel(page).locator("[data-testid=bid-form]")).to_be_visible()
    page.evaluate("window.notReloaded = true")  # gone if the page reloads
    return page, problems


def panel(page: Page):
    return page.locator("[data-testid=auction-panel]")


def bid(page: Page, tenge: int) -> None:
    page.fill("#bid-amount", str(tenge))
    with page.expect_navigation():  # the post, then back to the lot (a new page)
        panel(page).locator("[data-testid=bid-form] button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("Ставка принята")
    page.evaluate("window.notReloaded = true")


def expect_price(page: Page, tenge: int, count: int, timeout: int = LIVE) -> None:
    box = panel(page)
    expect(box.locator("[data-testid=auction-count]")).to_have_text(str(count), timeout=timeout)
    expect(box.locator("[data-testid=auction-price]")).to_have_text(money(tenge, alone=True))
    following = tenge + STEP // 100
    expect(box.locator("[data-testid=auction-minimum]")).to_contain_text(money(following))
    # The amount field survives the polls (hx-preserve), with the new minimum as its hint.
    expect(box.locator("#bid-amount")).to_have_attribute("placeholder", money(following, alone=True))


def leader_row(page: Page):
    return panel(page).locator("[data-testid=auction-bids] li").first


def own_bid(page: Page):
    """The viewer's (only) bid in the panel's list."""
    return panel(page).locator("[data-testid=auction-bids] li", has=page.locator("[data-testid=own-bid]"))


def still_same_page(page: Page) -> None:
    assert page.evaluate("window.notReloaded === true"), "the page was reloaded"


def travel_browsers(pages: list[Page], to) -> None:
    """Move the browsers' clocks to where the server's clock went."""
    for page in pages:
        page.clock.set_system_time(to)


def test_two_processors_bid_live(new_context, live_server, auction, screenshots):
    base = live_server
    lot_id, ends, names, holder_name = auction
    shot = screenshots("bidding")

    # 1. Both processors open the lot: start price, no bids, the end in Almaty time.
    page_a, problems_a = open_lot(new_context, base, "a", lot_id)
    page_b, problems_b = open_lot(new_context, base, "b", lot_id)
    for page in (page_a, page_b):
        box = panel(page)
        expect(box.locator("[data-testid=auction-price]")).to_contain_text(money(START // 100))
        expect(box.locator("[data-testid=auction-no-bids]")).to_be_visible()
        expect(box).to_contain_text(almaty(ends))
        expect(box.locator("[data-testid=auction-countdown]")).to_have_text(re.compile(r"^00:(0[5-9]|10):\d\d$"))
    shot(page_a, "a-opens-the-lot")
    shot(page_b, "b-opens-the-lot")

    # 2. A bids the start price: B's page shows the price and the bid without a reload.
    bid(page_a, 12_000)
    expect_price(page_a, 12_000, 1, timeout=10_000)
    expect(leader_row(page_a).locator("[data-testid=own-bid]")).to_be_visible()
    expect_price(page_b, 12_000, 1)
    row = leader_row(page_b)
    expect(row).to_contain_text("Участник 1")
    expect(row).to_contain_text("лидирует")
    expect(row).to_contain_text(money(12_000))
    expect(row.locator("[data-testid=own-bid]")).to_have_count(0)
    still_same_page(page_b)
    shot(page_a, "a-bids-12000")
    shot(page_b, "b-sees-a-bid-live")

    # 3. B outbids by a step: A's page follows. Ten minutes to go: no extension yet.
    bid(page_b, 12_500)
    expect_price(page_b, 12_500, 2, timeout=10_000)
    expect_price(page_a, 12_500, 2)
    row = leader_row(page_a)
    expect(row).to_contain_text("Участник 2")
    expect(row).to_contain_text("лидирует")
    expect(own_bid(page_a)).to_contain_text("Перебита")
    still_same_page(page_a)
    for page in (page_a, page_b):
        expect(panel(page)).to_contain_text(almaty(ends))
        expect(panel(page).locator(".badge.text-bg-warning")).to_have_count(0)
    shot(page_b, "b-outbids-12500")
    shot(page_a, "a-sees-b-outbid-live")

    # 4. Two minutes before the end, A bids again: the end moves 5 minutes later on both pages.
    late = ends - timedelta(minutes=2)
    with time_machine.travel(late, tick=True):
        travel_browsers([page_a, page_b], late)
        bid(page_a, 13_000)
        with live_server.app.app_context():
            new_end = aware(auction_of(db.session.get(Lot, lot_id)).ends_at)
        assert new_end == ends + timedelta(minutes=SNIPE_MINUTES)
        for page in (page_a, page_b):
            expect_price(page, 13_000, 3)
            box = panel(page)
            expect(box).to_contain_text(almaty(new_end))
            expect(box).not_to_contain_text(almaty(ends))
            expect(box.locator(".badge.text-bg-warning")).to_have_text("+1")
            expect(box.locator("[data-testid=auction-countdown]")).to_have_text(re.compile(r"^00:0[3-7]:\d\d$"))
        still_same_page(page_b)
        shot(page_a, "a-bids-late-end-extended")
        shot(page_b, "b-sees-the-extension-live")

        # 5. Past the extended end, the closing job awards the lot to A; both panels close.
        after = new_end + timedelta(seconds=5)
        with time_machine.travel(after, tick=True):
            travel_browsers([page_a, page_b], after)
            with live_server.app.app_context():
                assert close_expired.call_local() == 1
                deal = db.session.scalar(select(Deal).where(Deal.lot_id == lot_id))
                assert deal is not None and deal.buyer.name == names["a"]
                deal_id = deal.id
            for page in (page_a, page_b):
                box = panel(page)
                expect(box.locator("[data-testid=auction-barrier]")).to_have_attribute(
                    "data-barrier", "closed", timeout=LIVE)
                expect(box.locator("[data-testid=bid-form]")).to_have_count(0)
                expect(box.locator("[data-testid=auction-countdown]")).to_have_count(0)
                expect(box.locator("[data-testid=auction-price]")).to_have_text(money(13_000, alone=True))
            still_same_page(page_a)
            still_same_page(page_b)
            for page in (page_a, page_b):
                expect(leader_row(page)).to_contain_text("Выиграла")
                expect(panel(page)).not_to_contain_text("лидирует")  # over: won, not leading
            expect(own_bid(page_b)).to_contain_text("Не выиграла")
            shot(page_a, "a-won-live")
            shot(page_b, "b-lost-live")

            # 6. The winner reaches the deal from the lot page and from "My activity".
            page_a.reload()
            deals = page_a.locator("[data-testid=lot-deals]")
            expect(deals).to_contain_text(f"Сделка №{deal_id}")
            expect(deals).to_contain_text(money(13_000 * TONNES))
            shot(page_a, "a-lot-page-after-close")
            page_a.goto(f"{base}/activity")
            rows = page_a.locator("[data-testid=activity-table] tbody tr")
            won = rows.filter(has_text=re.compile("Выиграла"))  # case-sensitive: not "Не выиграла"
            expect(won).to_have_count(1)
            expect(won).to_contain_text(TITLE)
            expect(won.locator("[data-testid=activity-deal]")).to_have_text(f"№{deal_id}")
            shot(page_a, "a-my-activity")
            won.locator("[data-testid=activity-deal]").click()
            page_a.wait_for_url(f"{base}/deals/{deal_id}")
            expect(page_a.locator("[data-testid=deal-state]")).to_have_attribute("data-state", "agreed")
            expect(page_a.locator("[data-testid=deal-buyer]")).to_contain_text(names["a"])
            terms = page_a.locator("[data-testid=deal-terms]")
            expect(terms).to_contain_text(holder_name)
            expect(terms).to_contain_text(money(13_000))
            expect(terms.locator("[data-testid=deal-total]")).to_have_text(money(13_000 * TONNES, alone=True))
            shot(page_a, "a-deal")

            # The loser has no deal: its activity lists the lost bids only.
            page_b.goto(f"{base}/activity")
            rows = page_b.locator("[data-testid=activity-table] tbody tr")
            expect(rows).to_have_count(1)
            expect(rows).to_contain_text("Не выиграла")
            expect(rows.locator("[data-testid=activity-deal]")).to_have_count(0)
            shot(page_b, "b-my-activity")
            assert page_b.goto(f"{base}/deals/{deal_id}").status == 404
    problems_b = [p for p in problems_b if f"/deals/{deal_id}" not in p]
    assert not problems_a and not problems_b, problems_a + problems_b
