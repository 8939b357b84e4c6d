"""Browser: a holder builds its registry and imports an XLSX; the official sees the result."""

import re
from datetime import date, timedelta

import openpyxl
import time_machine
from playwright.sync_api import Page, expect

from market.core.txn import commit
from market.registry.limits import flag_overdue_streams

PASSWORD = "qaldyq-demo-2026"


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("main form input[name=password]")).to_have_count(0)


def log_out(page: Page, base: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/")


def test_holder_registry_and_official_oversight(page: Page, live_server, screenshots, tmp_path):
    base = live_server
    shot = screenshots("registry")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. The smelter's owner opens the registry and adds a site, picking the point on the map.
    log_in(page, base, "smelter@qaldyq.kz")
    page.goto(f"{base}/registry/")
    page.locator("main a", has_text="Добавить площадку").click()
    page.fill("input[name=name]", "Склад пыли №3")
    page.select_option("select[name=kind]", "storage")
    page.fill("input[name=address]", "г. Балхаш, северная промзона")
    page.locator("#site-map").click(position={"x": 400, "y": 200})
    expect(page.locator("input[name=lat]")).not_to_have_value("")
    lat = float(page.locator("input[name=lat]").input_value())
    lon = float(page.locator("input[name=lon]").input_value())
    assert 40 < lat < 56 and 46 < lon < 88, (lat, lon)
    expect(page.locator("#site-map .leaflet-marker-icon")).to_have_count(1)
    shot(page, "site-on-map")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/registry/sites/\d+$"))
    expect(page.locator("main h1")).to_have_text("Склад пыли №3")
    shot(page, "site-created")

    # 2. A hazardous stream: the passport comes first.
    page.locator("main a", has_text="Добавить поток отходов").click()
    page.fill("input[name=waste_code]", "10 06 03*")
    page.fill("input[name=name]", "Пыль электрофильтров")
    page.select_option("select[name=physical_state]", "powder")
    page.select_option("select[name=storage_purpose]", "generation")
    page.check("input[name=hazard_properties][value=HP6]")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/registry/streams/\d+/passport$"))
    stream_id = int(page.url.split("/")[-2])
    page.fill("textarea[name=composition]", "Оксид свинца 10 %, оксид цинка 18 %; қорғасын")
    page.check("input[name=hazard_properties][value=HP14]")
    page.fill("textarea[name=handling]", "Закрытые бункеры")
    page.fill("textarea[name=transport]", "Герметичные контейнеры")
    page.fill("textarea[name=emergency]", "Изолировать участок")
    page.fill("input[name=compiled_by]", "Әлия Сәрсенова, эколог")
    shot(page, "passport-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/registry/streams/{stream_id}")

    # 3. Records generation of 12.5 t.
    page.select_option("select[name=kind]", "generated")
    page.fill("input[name=quantity]", "12,5")
    page.locator("main form button[type=submit]", has_text="Внести запись").click()
    page.wait_for_url(f"{base}/registry/streams/{stream_id}")
    expect(page.locator("[data-testid=stream-balance]")).to_have_text("12,500")
    shot(page, "generation-recorded")

    # 4. Imports two more records from an XLSX file through the background job.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["stream_id", "kind", "quantity", "event_date", "operation_code", "counterparty",
                  "document", "note"])
    sheet.append([stream_id, "generated", 5.25, date.today(), None, None, "Акт 17", None])
    sheet.append([stream_id, "generated", "2,25", date.today().strftime("%d.%m.%Y"), None, None,
                  None, "смена 2"])
    xlsx = tmp_path / "journal.xlsx"
    book.save(xlsx)
    page.goto(f"{base}/registry/")
    org_id = int(re.search(r"/orgs/(\d+)", page.url).group(1))
    page.goto(f"{base}/registry/orgs/{org_id}/import")
    page.select_option("select[name=kind]", "journal")
    page.set_input_files("input[name=file]", str(xlsx))
    shot(page, "import-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/registry/imports/\d+$"))
    progress = page.locator("[data-testid=import-progress]")
    expect(progress).to_have_attribute("data-status", "done", timeout=30_000)  # htmx polling
    expect(page.locator("[data-testid=import-done]")).to_contain_text("2")
    shot(page, "import-done")
    page.goto(f"{base}/registry/streams/{stream_id}")
    expect(page.locator("[data-testid=stream-balance]")).to_have_text("20,000")
    shot(page, "balance-after-import")

    # 5. Seven months later the hourly job flags the dust (6-month limit at the place of generation).
    with time_machine.travel(date.today() + timedelta(days=210)):
        with live_server.app.app_context():
            flagged = [s.id for s in flag_overdue_streams()]
            commit()
        assert stream_id in flagged
        log_out(page, base)
        log_in(page, base, "official@qaldyq.kz")
        page.goto(f"{base}/official/registry/stocks?group=region")
        karaganda = page.locator("[data-testid=stocks] tbody tr", has_text="Карагандинская")
        expect(karaganda).to_have_count(1)
        shot(page, "official-region-totals")
        page.goto(f"{base}/official/registry/compliance")
        expect(page.locator("[data-testid=compliance]")).to_contain_text("Пыль электрофильтров")
        shot(page, "official-compliance")
    assert not errors, errors
