"""The classifier browser: search by code and by words, filters, code page, R/D, HP, JSON."""

import re

import pytest

from market.refdata.search import code_prefix, natural_key, search_codes


def codes_in(html: str) -> list[str]:
    """Codes linked from a page, in order, as code6."""
    return re.findall(r'href="/classifier/(\d{6})"', html)


def result_rows(html: str) -> list[str]:
    """Codes of the rows of the flat results table (not the mirror links)."""
    return re.findall(r'<tr data-code="(\d{6})">', html)


def page(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, url
    return r.get_data(as_text=True)


# search function ---------------------------------------------------------------------------

@pytest.mark.parametrize("q", ["10 02", "1002", " 10 02 ", "10.02", "10 02*"])
def test_prefix_search_variants(session, q):
    found = [c.code6 for c in search_codes(q)]
    assert found and all(c.startswith("1002") for c in found)
    assert "100207" in found


@pytest.mark.parametrize("q", ["10 02 07", "100207*", "10 02 07*", "100207"])
def test_full_code_search(session, q):
    assert [c.code6 for c in search_codes(q)] == ["100207"]


def test_code_prefix_parsing():
    assert code_prefix("01 03 04*") == "010304"
    assert code_prefix("1002") == "1002"
    assert code_prefix("tailings") is None
    assert code_prefix("01 tailings") is None


def test_too_long_code_finds_nothing(session):
    assert search_codes("1002071") == []


def test_word_search_in_titles(session):
    found = [c.code6 for c in search_codes("tailings")]
    assert "010306" in found and "010304" in found
    assert found == sorted(found)


def test_word_search_ignores_case_and_needs_every_word(session):
    assert [c.code6 for c in search_codes("TAILINGS")] == [c.code6 for c in search_codes("tailings")]
    both = [c.code6 for c in search_codes("acid-generating tailings")]
    assert both == ["010304"]


def test_word_search_folds_cyrillic_case(session):
    from market.extensions import db
    from market.refdata.models import WasteCode

    db.session.get(WasteCode, "010306").description_ru = "Хвосты, кроме указанных в 01 03 04 и 01 03 05"
    db.session.flush()
    assert [c.code6 for c in search_codes("ХВОСТЫ")] == ["010306"]
    assert [c.code6 for c in search_codes("хвосты")] == ["010306"]


def test_filters(session):
    hazardous = search_codes("tailings", hazardous_only=True)
    assert hazardous and all(c.hazardous for c in hazardous)
    assert "010306" not in [c.code6 for c in hazardous]
    in_01 = search_codes("", chapter="01")
    assert in_01 and all(c.chapter == "01" for c in in_01)
    assert search_codes("10 02", chapter="01") == []
    assert search_codes("", chapter="x'; --") == []


def test_natural_order():
    assert sorted(["R10", "R9", "R1", "R13"], key=natural_key) == ["R1", "R9", "R10", "R13"]


# classifier page ---------------------------------------------------------------------------

def test_list_shows_every_chapter(client):
    html = page(client, "/classifier/")
    for n in range(1, 21):
        assert f'id="ch-{n:02d}"' in html
    assert len(codes_in(html)) == 842
    assert "01 03 04*" in html and "опасный" in html
    assert "№ 314" in html
    assert 'id="sub-0103"' in html


def test_list_marks_english_titles(client):
    html = page(client, "/classifier/")
    assert 'lang="en"' in html and ">EN</span>" in html
    en = page(client, "/classifier/?lang=en")
    assert ">EN</span>" not in en


@pytest.mark.parametrize("q", ["10 02", "1002", "10 02 07", "100207*"])
def test_page_prefix_search(client, q):
    html = page(client, "/classifier/?q=" + q)
    found = codes_in(html)
    assert "100207" in found
    assert all(c.startswith("1002") for c in found)
    assert 'data-testid="count"' in html


def test_page_word_search(client):
    html = page(client, "/classifier/?q=tailings")
    found = codes_in(html)
    assert "010306" in found and "010304" in found
    assert "Найдено кодов" in html


def test_page_hazardous_filter(client):
    rows = result_rows(page(client, "/classifier/?q=tailings&hazardous=1"))
    assert "010304" in rows and "010305" in rows
    assert "010306" not in rows  # still linked as their mirror, but not a result
    assert "010306" in result_rows(page(client, "/classifier/?q=tailings"))


def test_page_chapter_filter(client):
    html = page(client, "/classifier/?q=waste&chapter=17")
    rows = result_rows(html)
    assert rows and all(c.startswith("17") for c in rows)
    grouped = page(client, "/classifier/?chapter=17")
    assert 'id="ch-17"' in grouped and 'id="ch-01"' not in grouped
    assert all(c.startswith("17") for c in codes_in(grouped))


def test_page_chapter_filter_with_hazardous_only(client):
    html = page(client, "/classifier/?chapter=01&hazardous=1")
    assert "010304" in codes_in(html) and "010306" not in codes_in(html)


def test_page_nothing_found(client):
    html = page(client, "/classifier/?q=zzzqqq")
    assert 'data-testid="empty"' in html and "Ничего не найдено" in html
    assert codes_in(html) == []


def test_unknown_chapter_is_ignored(client):
    assert 'id="ch-01"' in page(client, "/classifier/?chapter=99")


def test_search_is_paginated(client):
    html = page(client, "/classifier/?q=waste")
    assert "pagination" in html
    second = page(client, "/classifier/?q=waste&page=2")
    assert set(codes_in(second)) - set(codes_in(html))


# code page ---------------------------------------------------------------------------------

def test_show_code_with_mirrors(client):
    html = page(client, "/classifier/010306")
    assert "01 03 06" in html
    assert "tailings other than those mentioned in 01 03 04 and 01 03 05" in html
    mirrors = html.split('data-testid="mirrors"')[1].split("</ul>")[0]
    assert codes_in(mirrors) == ["010304", "010305"]
    assert "01 03 04*" in mirrors and "опасный" in mirrors
    assert "Зеркальная запись" in html
    # chapter and sub-chapter titles
    assert "Wastes resulting from exploration, mining" in html
    assert "wastes from physical and chemical processing of metalliferous minerals" in html
    assert "неопасный" in html


def test_show_hazardous_code_links_back(client):
    html = page(client, "/classifier/010304")
    assert "опасный" in html and "010306" in codes_in(html)


def test_show_code_without_mirrors(client):
    html = page(client, "/classifier/010101")
    assert 'data-testid="mirrors"' not in html
    assert "не указана" in html


@pytest.mark.parametrize("code", ["999999", "abc", "0103"])
def test_unknown_code_is_404(client, code):
    assert client.get(f"/classifier/{code}").status_code == 404


def test_written_code_redirects(client):
    r = client.get("/classifier/01 03 04*")
    assert r.status_code == 301 and r.headers["Location"].endswith("/classifier/010304")


# R/D and HP --------------------------------------------------------------------------------

def test_operations_in_numeric_order(client):
    html = page(client, "/classifier/operations")
    recovery = html.split('data-testid="ops-recovery"')[1].split("</table>")[0]
    disposal = html.split('data-testid="ops-disposal"')[1].split("</table>")[0]
    r = re.findall(r'<tr id="(R\d+)">', recovery)
    d = re.findall(r'<tr id="(D\d+)">', disposal)
    assert r == [f"R{n}" for n in range(1, 14)]
    assert d == [f"D{n}" for n in range(1, 16)]
    assert r.index("R10") == r.index("R9") + 1
    assert "Переработка" in html and "Удаление" in html and "Промежуточная операция" in html


def test_hazards_in_numeric_order(client):
    html = page(client, "/classifier/hazards")
    assert re.findall(r'<tr id="(HP\d+)">', html) == [f"HP{n}" for n in range(1, 16)]
    assert "Explosive" in html


# JSON --------------------------------------------------------------------------------------

def test_json_search(client):
    r = client.get("/classifier/search.json?q=tailings")
    assert r.status_code == 200 and r.is_json
    rows = r.get_json()
    assert {"code6": "010304", "code": "01 03 04*", "hazardous": True,
            "title": "acid-generating tailings from processing of sulphide ore"} in rows
    assert set(rows[0]) == {"code6", "code", "title", "hazardous"}


def test_json_search_by_code_and_limit(client):
    assert [r["code6"] for r in client.get("/classifier/search.json?q=100207*").get_json()] == ["100207"]
    assert len(client.get("/classifier/search.json?q=waste").get_json()) == 20
    assert client.get("/classifier/search.json?q=").get_json() == []


# languages, navigation ---------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
@pytest.mark.parametrize("url", ["/classifier/", "/classifier/?q=tailings", "/classifier/010306",
                                 "/classifier/operations", "/classifier/hazards"])
def test_pages_in_every_language(client, url, lang):
    sep = "&" if "?" in url else "?"
    html = page(client, f"{url}{sep}lang={lang}")
    assert f'<html lang="{lang}">' in html


def test_nav_links_to_classifier(client):
    assert 'href="/classifier/"' in page(client, "/")
