"""The agreement as a PDF in Russian or Kazakh (WeasyPrint, DejaVu fonts from static/fonts).

The PDF prints the stored canonical document of a version (not the live deal), so what is printed
is exactly what the hash covers; the hash is printed on it. The legal text is fixed per language
here (it does not follow the interface language); enumerations (delivery, price basis, kind of
formation) use the catalogue in that language.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import render_template
from flask_babel import force_locale

from market.cadastre.models import FORMATION_KINDS
from market.core.timeutil import to_almaty
from market.deals.agreements import document_of
from market.lots.models import PRICING_MODES
from market.lots.money import format_kzt
from market.registry.pdf import render_pdf

LANGUAGES = ("ru", "kk")

TEXTS = {
    "ru": {
        "title": "Договор о передаче отходов (прав на отходы)",
        "number": "№ {id}, редакция {n}",
        "concluded": "Дата заключения сделки",
        "basis_of": "Основание",
        "origin": {"award": "по итогам торгов", "purchase": "покупка по фиксированной цене",
                   "offer": "предложение следующему участнику по цене его ставки",
                   "free": "безвозмездная передача по заявке"},
        "parties": "1. Стороны",
        "seller": "Продавец (держатель отходов)",
        "buyer": "Покупатель (получатель)",
        "bin": "БИН", "address": "Адрес", "region": "Регион",
        "subject": "2. Предмет договора",
        "subject_text": "Продавец передаёт, а покупатель принимает отходы (права на них), указанные "
                        "ниже, на условиях настоящего договора.",
        "lot": "Лот", "waste_code": "Код отхода", "waste_title": "Наименование отхода",
        "hazardous": "Опасный отход", "yes": "да", "no": "нет",
        "stream": "Поток отходов", "site": "Площадка",
        "passport": "Паспорт опасного отхода", "passport_value": "№ {number} от {date}",
        "no_passport": "не требуется",
        "formation": "Техногенное минеральное образование",
        "cadastre_number": "Номер в кадастре", "formation_kind": "Вид",
        "coordinates": "Координаты", "area": "Площадь, га", "volume": "Объём, м³",
        "tonnage": "Масса, т", "hazard_class": "Класс опасности", "year_formed": "Год образования",
        "state_owned": "Государственная собственность",
        "terms": "3. Количество, цена и поставка",
        "quantity": "Количество", "tonnes": "т", "unit_price": "Цена",
        "basis": {"per_t": "за тонну", "per_lot": "за весь лот"},
        "total": "Сумма договора", "free_of_charge": "безвозмездно",
        "delivery": "Условия поставки",
        "delivery_terms": {"pickup": "самовывоз с площадки продавца",
                           "delivered": "доставка продавцом"},
        "available": "Отходы доступны", "period": "с {a} по {b}",
        "supply": "Регулярная поставка", "supply_value": "{qty} т в месяц, с {a} по {b}",
        "pricing_mode": "Способ продажи",
        "plan": "4. План переработки покупателя",
        "operation": "Операция R/D", "plan_text": "План",
        "plan_missing": "Покупатель ещё не указал план переработки.",
        "obligation": "Покупатель обязуется обращаться с отходами в соответствии с указанным планом "
                      "и операцией и в пределах своей лицензии.",
        "dates": "5. Сроки и вступление в силу",
        "sign_by": "Подписать до",
        "effect": "Договор вступает в силу после регистрации передачи прав уполномоченным органом.",
        "bid_log": "SHA-256 журнала ставок",
        "signatures": "6. Подписи сторон",
        "signed_by": "Подписал(а): {name}, {at}; способ: {method}",
        "not_signed": "Не подписан",
        "methods": {"password": "пароль учётной записи", "totp": "одноразовый код (TOTP)",
                    "ncalayer": "квалифицированная ЭЦП (NCALayer)"},
        "hash": "SHA-256 документа (канонический JSON)",
        "hash_note": "Стороны подписывают именно этот хэш. Любое изменение договора даёт новую "
                     "редакцию с новым хэшем.",
        "footer": "Составлен на платформе Qaldyq",
    },
    "kk": {
        "title": "Қалдықтарды (қалдықтарға құқықтарды) беру туралы шарт",
        "number": "№ {id}, {n}-редакция",
        "concluded": "Мәміле жасалған күні",
        "basis_of": "Негіздеме",
        "origin": {"award": "сауда-саттық қорытындысы бойынша",
                   "purchase": "тіркелген баға бойынша сатып алу",
                   "offer": "келесі қатысушыға оның ұсынған бағасы бойынша ұсыныс",
                   "free": "өтінім бойынша өтеусіз беру"},
        "parties": "1. Тараптар",
        "seller": "Сатушы (қалдықтарды иеленуші)",
        "buyer": "Сатып алушы (алушы)",
        "bin": "БСН", "address": "Мекенжайы", "region": "Өңір",
        "subject": "2. Шарттың мәні",
        "subject_text": "Сатушы төменде көрсетілген қалдықтарды (оларға құқықтарды) осы шарттың "
                        "талаптарына сәйкес береді, ал сатып алушы оларды қабылдайды.",
        "lot": "Лот", "waste_code": "Қалдық коды", "waste_title": "Қалдықтың атауы",
        "hazardous": "Қауіпті қалдық", "yes": "иә", "no": "жоқ",
        "stream": "Қалдықтар ағыны", "site": "Алаң",
        "passport": "Қауіпті қалдықтың паспорты", "passport_value": "№ {number}, жасалған күні {date}",
        "no_passport": "талап етілмейді",
        "formation": "Техногендік минералдық түзілім",
        "cadastre_number": "Кадастрдағы нөмірі", "formation_kind": "Түрі",
        "coordinates": "Координаттары", "area": "Ауданы, га", "volume": "Көлемі, м³",
        "tonnage": "Массасы, т", "hazard_class": "Қауіптілік сыныбы",
        "year_formed": "Пайда болған жылы", "state_owned": "Мемлекеттік меншік",
        "terms": "3. Мөлшері, бағасы және жеткізу",
        "quantity": "Мөлшері", "tonnes": "т", "unit_price": "Бағасы",
        "basis": {"per_t": "бір тоннасы үшін", "per_lot": "бүкіл лот үшін"},
        "total": "Шарттың сомасы", "free_of_charge": "өтеусіз",
        "delivery": "Жеткізу шарттары",
        "delivery_terms": {"pickup": "сатушының алаңынан өзі алып кету",
                           "delivered": "сатушының жеткізуі"},
        "available": "Қалдықтар қолжетімді кезең", "period": "{a} – {b}",
        "supply": "Тұрақты жеткізу", "supply_value": "айына {qty} т, кезеңі: {a} – {b}",
        "pricing_mode": "Сату тәсілі",
        "plan": "4. Сатып алушының қайта өңдеу жоспары",
        "operation": "R/D операциясы", "plan_text": "Жоспар",
        "plan_missing": "Сатып алушы қайта өңдеу жоспарын әлі көрсеткен жоқ.",
        "obligation": "Сатып алушы қалдықтармен көрсетілген жоспар мен операцияға сәйкес және өз "
                      "лицензиясының шегінде жұмыс істеуге міндеттенеді.",
        "dates": "5. Мерзімдер және күшіне енуі",
        "sign_by": "Қол қоюдың соңғы мерзімі",
        "effect": "Шарт құқықтарды беруді уәкілетті орган тіркегеннен кейін күшіне енеді.",
        "bid_log": "Баға ұсыныстары журналының SHA-256 хэші",
        "signatures": "6. Тараптардың қолтаңбалары",
        "signed_by": "Қол қойған: {name}, {at}; тәсілі: {method}",
        "not_signed": "Қол қойылмаған",
        "methods": {"password": "есептік жазбаның құпиясөзі", "totp": "бір реттік код (TOTP)",
                    "ncalayer": "білікті ЭЦҚ (NCALayer)"},
        "hash": "Құжаттың SHA-256 хэші (канондық JSON)",
        "hash_note": "Тараптар дәл осы хэшке қол қояды. Шарттағы кез келген өзгеріс жаңа хэші бар "
                     "жаңа редакцияны құрайды.",
        "footer": "Qaldyq платформасында жасалды",
    },
}


def _parse_moment(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def day(value) -> str:
    """dd.mm.yyyy (Almaty) of an ISO moment or date, '—' when missing."""
    if not value:
        return "—"
    if isinstance(value, str) and value.endswith("Z"):
        return to_almaty(_parse_moment(value)).strftime("%d.%m.%Y")
    return date.fromisoformat(value).strftime("%d.%m.%Y")


def moment(value) -> str:
    if isinstance(value, str):
        value = _parse_moment(value)
    return to_almaty(value).strftime("%d.%m.%Y %H:%M") if value else "—"


def labels(lang: str) -> dict:
    """Enumeration labels in ``lang`` (from the catalogue)."""
    with force_locale(lang):
        return {"formation_kinds": {k: str(v) for k, v in FORMATION_KINDS.items()},
                "pricing_modes": {k: str(v) for k, v in PRICING_MODES.items()}}


def agreement_html(deal, agreement, version, signatures: dict, lang: str, *, template: str) -> str:
    with force_locale(lang):
        return render_template(template, T=TEXTS[lang], L=labels(lang), lang=lang, deal=deal,
                               agreement=agreement, version=version, doc=document_of(version),
                               signatures=signatures, kzt=format_kzt, day=day, moment=moment)


def agreement_pdf(deal, agreement, version, signatures: dict, lang: str) -> bytes:
    if lang not in LANGUAGES:
        raise ValueError(lang)
    return render_pdf(agreement_html(deal, agreement, version, signatures, lang,
                                     template="deals/agreement_pdf.html"))
