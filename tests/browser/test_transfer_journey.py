"""Browser: the whole rights transfer. The holder publishes an auction lot, a processor wins it,
both parties sign the agreement, the buyer submits it with its receiving site, an official of the
region approves, the registry balances move, and the public ledger shows the entries, whose
inclusion proofs and tree head signature check out with tools/verify_ledger.py.

The server's clock travels past the auction's end (time_machine, in this process, so also in the
live server's thread); the rest of the journey happens at that moment, ticking on.
"""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import Page, expect
from sqlalchemy import select

from market.accounts.operations import find_user
from market.core.timeutil import aware, utcnow
from market.core.txn import commit
from market.deals.models import Deal
from market.demo.world import DEMO_PASSWORD
from market.extensions import db
from market.ledger import operations as ledger_ops
from market.ledger.models import LedgerEntry
from market.lots.jobs import close_expired
from market.lots.models import Lot
from market.lots.operations import create_lot
from market.registry.models import Site, WasteStream
from tests.browser.conftest import REPO_ROOT, SCREENSHOTS, Screenshots
from tests.browser.test_bidding import _org_of, bid, money, panel
from tests.browser.test_market import log_in
from tests.browser.test_onboarding import watch_for_problems

HOLDER = "smelter@qaldyq.kz"  # ТОО «Балқаш Мыс», Karaganda region
BUYER = "cement@qaldyq.kz"  # АО «Central Asia Cement», a verified processor with a slag intake
OFFICIAL = "official@qaldyq.kz"  # the demo official of Karaganda region
TITLE = "Шлак медеплавильный, 25 т — передача прав"
TONNES = 25
START, STEP = 1_200_000, 50_000  # 12 000 ₸ a tonne, step 500 ₸ (tiyn)
PLAN = "Шлак используется как железистая добавка в сырьевую смесь клинкера."
KINDS = {"lot.awarded": "Лот присуждён покупателю", "agreement.approved": "Договор одобрен",
         "rights.registered": "Переход прав зарегистрирован"}


def _verifier():
    """tools/verify_ledger.py as a module (it is a standalone script, not a package)."""
    spec = importlib.util.spec_from_file_location("verify_ledger", REPO_ROOT / "tools" / "verify_ledger.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _patient_expect():
    """The machine is shared and busy: 10 s (not 5) for what a page shows after a request."""
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def journey(live_server):
    """A draft English auction of the smelter on 25 t of its slag stream, ending in 10 minutes;
    the buyer's slag intake at its cement plant."""
    with live_server.app.app_context():
        smelter = find_user(HOLDER)
        org, buyer = _org_of(HOLDER), _org_of(BUYER)
        stream = db.session.scalar(select(WasteStream).where(
            WasteStream.organization_id == org.id, WasteStream.waste_code == "100601"))
        intake = db.session.scalar(select(WasteStream).join(Site).where(
            Site.organization_id == buyer.id, WasteStream.waste_code == "100601"))
        lot = create_lot(org, actor=smelter, stream=stream, title=TITLE, quantity=str(TONNES),
                         description="Отвальный шлак, самовывоз.", pricing_mode="english",
                         price=START, increment=STEP, ends_at=utcnow() + timedelta(minutes=10))
        commit()
        return {"lot": lot.id, "ends": aware(lot.ends_at), "stream": stream.id,
                "stream_balance": stream.balance, "intake": intake.id, "site": intake.site_id,
                "intake_balance": intake.balance, "buyer": buyer.name, "holder": org.name}


def browser_of(new_context, base: str, email: str | None) -> tuple[Page, list[str]]:
    page = new_context().new_page()
    problems = watch_for_problems(page)
    if email:
        log_in(page, base, email)
    return page, problems


def accept_next_dialog(page: Page, problems: list[str], expected: str) -> list[str]:
    """The page's confirm(): accepted, after checking it asks what it should. Returns the list
    of the messages asked (to check that it was asked at all)."""
    asked: list[str] = []

    def on_dialog(dialog) -> None:
        asked.append(dialog.message)
        if expected not in dialog.message:
            problems.append(f"unexpected dialog: {dialog.message}")
        dialog.accept()
    page.once("dialog", on_dialog)
    return asked


def sign(page: Page, problems: list[str], base: str, deal_id: int) -> str:
    """On the agreement page: confirm the hash shown, re-enter the password, sign."""
    page.goto(f"{base}/deals/{deal_id}/agreement")
    form = page.locator("[data-testid=agreement-sign]")
    digest = page.locator("[data-testid=agreement-hash]").inner_text().strip()
    expect(form).to_contain_text(digest)
    form.locator("#confirm").check()
    form.locator("#password").fill(DEMO_PASSWORD)
    asked = accept_next_dialog(page, problems, "Подписать договор?")
    with page.expect_navigation():
        form.locator("[data-testid=agreement-sign-button]").click()
    assert asked, "signed without being asked to confirm"
    return digest


def stream_balance(page: Page, base: str, stream_id: int):
    page.goto(f"{base}/registry/streams/{stream_id}")
    return page.locator("[data-testid=stream-balance]")


def tonnes(value: Decimal) -> re.Pattern:
    """247 975,000 as the t filter writes it (Russian: spaces between thousands, decimal comma)."""
    text = f"{value:,.3f}".replace(",", " ").replace(".", ",")
    return re.compile(r"^\s*" + r"\s".join(text.split(" ")) + r"\s*$")


def test_rights_transfer_journey(new_context, live_server, journey):
    base, j = live_server, journey
    shot = Screenshots(SCREENSHOTS / "journey")
    holder, holder_problems = browser_of(new_context, base, HOLDER)
    buyer, buyer_problems = browser_of(new_context, base, BUYER)

    # 1. The holder sees its slag stream, then publishes the auction from the lot page.
    expect(stream_balance(holder, base, j["stream"])).to_be_visible()
    shot(holder, "holder-stream-before")
    holder.goto(f"{base}/lots/{j['lot']}")
    expect(holder.locator("main h1")).to_have_text(TITLE)
    with holder.expect_navigation():
        holder.get_by_role("button", name="Опубликовать").click()
    expect(holder.locator(".alert-success[role=alert]")).to_be_visible()
    expect(holder.get_by_role("button", name="Опубликовать")).to_have_count(0)
    shot(holder, "holder-published-the-lot")

    # 2. The processor bids the start price in its browser.
    buyer.goto(f"{base}/lots/{j['lot']}")
    expect(panel(buyer).locator("[data-testid=bid-form]")).to_be_visible()
    bid(buyer, START // 100)
    expect(panel(buyer).locator("[data-testid=auction-price]")).to_contain_text(money(START // 100))
    shot(buyer, "buyer-bid")

    # 3. Past the end, the closing job awards the lot: a deal for the processor.
    after = j["ends"] + timedelta(seconds=5)
    with time_machine.travel(after, tick=True):
        with live_server.app.app_context():
            assert close_expired.call_local() == 1
            deal = db.session.scalar(select(Deal).where(Deal.lot_id == j["lot"]))
            assert deal is not None and deal.buyer.name == j["buyer"]
            deal_id = deal.id
        buyer.goto(f"{base}/deals/{deal_id}")
        expect(buyer.locator("[data-testid=deal-state]")).to_have_attribute("data-state", "agreed")
        total = money(START // 100 * TONNES, alone=True)
        expect(buyer.locator("[data-testid=deal-total]")).to_have_text(total)
        shot(buyer, "buyer-deal-page")

        # 4. The buyer states its processing plan (R5), which makes a new version; then signs.
        buyer.locator("[data-testid=deal-agreement-link] a").click()
        buyer.wait_for_url(f"{base}/deals/{deal_id}/agreement")
        expect(buyer.locator("[data-testid=agreement-sign]")).to_have_count(0)  # no plan yet
        plan = buyer.locator("[data-testid=agreement-plan-form]")
        plan.locator("#operation_code").fill("R5")
        plan.locator("#plan").fill(PLAN)
        with buyer.expect_navigation():
            plan.locator("[data-testid=agreement-plan-save]").click()
        expect(buyer.locator(".alert-success[role=alert]")).to_contain_text("План сохранён")
        expect(buyer.locator("[data-testid=agreement-plan]")).to_contain_text(PLAN)
        shot(buyer, "buyer-stated-the-plan")
        digest = sign(buyer, buyer_problems, base, deal_id)
        expect(buyer.locator(".alert-success[role=alert]")).to_contain_text("Ждём подписи другой стороны")
        expect(buyer.locator("[data-testid=agreement-signatures] [data-party=buyer]")).to_have_attribute(
            "data-signed", "yes")
        shot(buyer, "buyer-signed")

        # 5. The holder signs the same hash: fully signed.
        assert sign(holder, holder_problems, base, deal_id) == digest
        expect(holder.locator(".alert-success[role=alert]")).to_contain_text("подписан обеими сторонами")
        signatures = holder.locator("[data-testid=agreement-signatures]")
        for party in ("seller", "buyer"):
            expect(signatures.locator(f"[data-party={party}]")).to_have_attribute("data-signed", "yes")
        expect(holder.locator("[data-testid=agreement-state]")).to_have_attribute("data-state", "signed")
        shot(holder, "holder-signed")

        # 6. The buyer submits it for review, choosing its cement plant as the receiving site.
        buyer.goto(f"{base}/deals/{deal_id}")
        form = buyer.locator("[data-testid=review-submit-form]")
        form.locator("#site_id").select_option(str(j["site"]))
        with buyer.expect_navigation():
            form.locator("[data-testid=review-submit]").click()
        expect(buyer.locator(".alert-success[role=alert]")).to_contain_text("подан на проверку")
        expect(buyer.locator("[data-testid=review-state]")).to_have_attribute("data-state", "submitted")
        shot(buyer, "buyer-submitted-for-review")

        # 7. The region's official finds the case in the queue and approves it.
        official, official_problems = browser_of(new_context, base, OFFICIAL)
        official.goto(f"{base}/review/")
        row = official.locator(f"[data-testid=review-row][data-deal='{deal_id}']")
        expect(row).to_contain_text(j["holder"])
        expect(row).to_contain_text(j["buyer"])
        shot(official, "official-queue")
        row.locator("a").first.click()
        official.wait_for_url(f"{base}/review/{deal_id}")
        expect(official.locator("[data-testid=review-sha256]")).to_have_text(digest)
        shot(official, "official-case")
        asked = accept_next_dialog(official, official_problems, "Одобрить договор")
        with official.expect_navigation():
            official.locator("[data-testid=review-approve]").click()
        assert asked, "approved without being asked to confirm"
        expect(official.locator("[data-testid=review-state]")).to_have_attribute("data-state", "approved")
        shot(official, "official-approved")

        # 8. The registry moved the tonnes: out of the holder's stream, into the buyer's intake.
        with live_server.app.app_context():
            deal = db.session.get(Deal, deal_id)
            assert deal.state == "registered"
            assert db.session.get(Lot, j["lot"]).state == "transferred"
            out = db.session.get(WasteStream, j["stream"]).balance
            into = db.session.get(WasteStream, j["intake"]).balance
        assert out == j["stream_balance"] - TONNES
        assert into == j["intake_balance"] + TONNES
        expect(stream_balance(holder, base, j["stream"])).to_have_text(tonnes(out))
        shot(holder, "holder-stream-after")
        expect(stream_balance(buyer, base, j["intake"])).to_have_text(tonnes(into))
        shot(buyer, "buyer-intake-after")
        buyer.goto(f"{base}/deals/{deal_id}")
        expect(buyer.locator("[data-testid=deal-state]")).to_have_attribute("data-state", "registered")
        expect(buyer.locator("[data-testid=review-state]")).to_have_attribute("data-state", "approved")
        shot(buyer, "buyer-deal-registered")

        # 9. The periodic job publishes a signed tree head (flask ledger publish).
        with live_server.app.app_context():
            entries = {}
            for entry in db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind.in_(KINDS))
                                            .order_by(LedgerEntry.sequence)):
                if json.loads(entry.payload).get("deal") == deal_id:
                    entries[entry.kind] = entry.sequence
            assert set(entries) == set(KINDS), entries
            assert ledger_ops.publish() is not None
            commit()

    # 10. Anyone (not logged in) sees the entries on the public ledger and checks the proofs.
    public, public_problems = browser_of(new_context, base, None)
    public.goto(f"{base}/ledger/")
    table = public.locator("[data-testid=ledger-entries]")
    for kind, sequence in entries.items():
        row = table.locator("tbody tr").filter(has=public.get_by_role("link", name=str(sequence), exact=True))
        expect(row).to_contain_text(KINDS[kind])
    size = int(public.locator("[data-testid=tree-size]").inner_text())
    assert size > max(entries.values())
    shot(public, "public-ledger")
    sequence = entries["rights.registered"]
    table.get_by_role("link", name=str(sequence), exact=True).click()
    public.wait_for_url(f"{base}/ledger/entries/{sequence}")
    expect(public.locator("main h1")).to_contain_text(KINDS["rights.registered"])
    expect(public.locator("[data-testid=payload]")).to_contain_text(digest)
    expect(public.locator("[data-testid=audit-path] li").first).to_be_visible()
    shot(public, "public-entry")
    with public.expect_navigation():
        public.get_by_role("link", name="JSON", exact=True).click()
    proof = json.loads(public.locator("body").inner_text())
    assert proof["sequence"] == sequence and proof["inclusion"]["tree_size"] == size
    shot(public, "public-entry-json")

    verify = _verifier()
    fetch = verify.http_fetch(base)
    for kind, sequence in entries.items():
        lines = verify.run(fetch, entry=sequence)
        assert lines[-1] == f"entry {sequence} ({kind}) is in the signed tree of {size}", lines
    assert verify.run(fetch)[-1] == f"latest tree head {size} is signed"

    # The checks can fail: a rewritten payload or a forged signature is caught.
    def forged(path: str) -> dict:
        data = fetch(path)
        if path.startswith("/ledger/api/entries/"):
            data["payload"]["quantity"] = "2500.000"
        return data

    with pytest.raises(verify.Failed, match="leaf hash does not match"):
        verify.run(forged, entry=entries["rights.registered"])

    def resigned(path: str) -> dict:
        data = fetch(path)
        if path == "/ledger/api/tree-head.json":
            data["root_hash"] = "00" * 32
        return data

    with pytest.raises(verify.Failed, match="bad signature"):
        verify.run(resigned)

    problems = holder_problems + buyer_problems + official_problems + public_problems
    assert not problems, problems

