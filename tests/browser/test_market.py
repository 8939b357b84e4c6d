"""Browser: a processor searches the exchange in Russian, maps and saves the search, and is
alerted when a holder publishes a lot that matches it."""

import re

from playwright.sync_api import Page, expect

from market.demo.world import DEMO_PASSWORD, KARAGANDA

PROCESSOR = "cement@qaldyq.kz"  # АО «Central Asia Cement»: a verified processor in Karaganda
HOLDER = "smelter@qaldyq.kz"  # ТОО «Балқаш Мыс»: the copper smelter
NEW_LOT = "Шлак медеплавильный отвальный, 20 000 т"


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("main form input[name=password]")).to_have_count(0)


def log_out(page: Page, base: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/")


def test_saved_search_alerts_the_processor(page: Page, live_server, screenshots):
    base = live_server
    shot = screenshots("market")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. The processor searches for "шлака" (an inflected form) in Karaganda, chapter 10.
    log_in(page, base, PROCESSOR)
    page.goto(f"{base}/lots/")
    page.fill("[data-testid=lot-search]", "шлака")
    page.select_option("select[name=region]", KARAGANDA)
    page.select_option("select[name=chapter]", "10")
    page.locator("[data-testid=lot-filters] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/lots/\?.*chapter=10"))
    rows = page.locator("[data-testid=lots] tbody tr")
    expect(rows.filter(has_text="Гранулированный медеплавильный шлак")).to_have_count(1)
    expect(rows.filter(has_text="Пыль газоочистки")).to_have_count(0)
    shot(page, "search-results")

    # 2. The results on the map: the lot's marker is drawn (clustered layer, no tiles needed).
    page.locator("[data-testid=show-map]").click()
    expect(page.locator("#lots-map")).to_have_attribute("data-markers", "1")
    markers = page.locator("#lots-map .leaflet-marker-icon, #lots-map .marker-cluster")
    expect(markers.first).to_be_visible()
    shot(page, "search-on-map")

    # 3. Saves the search with alerts (the name defaults to the conditions).
    save = page.locator("[data-testid=save-search]")
    expect(save.locator("#save-alerts")).to_be_checked()
    expect(save.locator("#save-name")).to_have_attribute("placeholder", re.compile("„шлака“"))
    save.locator("[data-testid=save-search-button]").click()
    page.wait_for_url(re.compile(r".*/lots/\?.*q=.*"))
    expect(page.locator(".alert-success")).to_contain_text("сохранён")
    expect(page.locator("[data-testid=search-saved]")).to_contain_text("„шлака“")
    shot(page, "search-saved")
    page.goto(f"{base}/saved/")
    expect(page.locator("[data-testid=saved-searches] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=saved-searches]")).to_contain_text("Карагандинская область")
    shot(page, "saved-searches")
    unread_before = page.locator("[data-testid=unread]")
    before = int(unread_before.inner_text()) if unread_before.count() else 0
    log_out(page, base)

    # 4. The smelter offers more slag: a draft from its slag stream, then published.
    log_in(page, base, HOLDER)
    page.goto(f"{base}/lots/new")
    page.locator("main a.list-group-item", has_text="Шлак медеплавильного производства").click()
    page.wait_for_url(re.compile(r".*/lots/new\?stream=\d+$"))
    page.fill("input[name=title]", NEW_LOT)
    page.fill("textarea[name=description]", "Отвальный шлак, фракция 0–40 мм, самовывоз.")
    page.fill("input[name=quantity]", "20000")
    page.check("input[name=pricing_mode][value=fixed]")
    page.fill("input[name=price]", "1 200")
    shot(page, "holder-new-lot")
    page.locator("#lot-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/lots/\d+$"))
    lot_url = page.url
    page.locator("main form button", has_text="Опубликовать").click()
    page.wait_for_url(lot_url)
    expect(page.locator(".alert-success")).to_contain_text("Лот опубликован")
    shot(page, "holder-published")
    log_out(page, base)

    # 5. The processor sees the unread counter on the bell and the alert linking to the lot.
    log_in(page, base, PROCESSOR)
    page.goto(f"{base}/lots/")
    badge = page.locator("[data-testid=unread]")
    expect(badge).to_be_visible()
    assert int(badge.inner_text()) > before
    shot(page, "processor-unread")
    page.locator("a[href='/notifications']").click()
    alert = page.locator("main .list-group-item a", has_text="Новый лот по сохранённому поиску")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text(NEW_LOT)
    lot_path = lot_url.removeprefix(base)
    expect(alert).to_have_attribute("href", lot_path)
    shot(page, "processor-notifications")
    alert.click()
    page.wait_for_url(lot_url)
    expect(page.locator("main h1")).to_have_text(NEW_LOT)

    # 6. Follows the lot: it is on the watch list.
    page.locator("[data-testid=watch]").click()
    expect(page.locator("[data-testid=unwatch]")).to_be_visible()
    shot(page, "processor-watching")
    page.goto(f"{base}/watchlist")
    expect(page.locator("[data-testid=watchlist]")).to_contain_text(NEW_LOT)
    shot(page, "processor-watchlist")
    assert not errors, errors
