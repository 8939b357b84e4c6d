"""Vocabulary for generated lots: Russian and Kazakh words that fit the waste codes.

The classifier titles are in English, so the words of a lot come from the English title of
its code (slag → шлак / қож, ash → зола / күл, tailings → хвосты / байыту қалдықтары, ...)
and from its subchapter (10 06 → медеплавильный, 10 01 → ТЭЦ). Used by bench/gen_lots.py.
"""

from __future__ import annotations

import re
from random import Random

# (English words of the code title, [(Russian noun, gender, one word?)], Kazakh noun, state)
NOUNS = [
    (r"tailings", [("хвосты", "pl", True), ("хвосты обогащения", "pl", False)], "байыту қалдықтары", "sludge"),
    (r"drilling mud", [("буровой шлам", "m", False)], "бұрғылау шламы", "sludge"),
    (r"slag", [("шлак", "m", True), ("шлаки", "pl", True)], "қож", "solid"),
    (r"fly ash|bottom ash|\bash", [("зола", "f", True), ("зола-унос", "f", True),
                                   ("золошлаковая смесь", "f", False)], "күл", "powder"),
    (r"filter cake|cakes", [("кек", "m", True), ("фильтр-кек", "m", True)], "кек", "paste"),
    (r"dross|skimming", [("съёмы", "pl", True), ("дросс", "m", True)], "қож", "solid"),
    (r"\bdust|particulates", [("пыль", "f", True), ("пыль газоочистки", "f", False)], "шаң", "powder"),
    (r"scale", [("окалина", "f", True)], "қақ", "solid"),
    (r"filings|turnings|machining|grinding", [("стружка", "f", True)], "жоңқа", "solid"),
    (r"sludge", [("шлам", "m", True), ("осадок", "m", True)], "шлам", "sludge"),
    (r"\boils?\b|emulsion", [("отработанное масло", "n", False), ("нефтешлам", "m", True)],
     "пайдаланылған май", "liquid"),
    (r"batter", [("отработанные аккумуляторы", "pl", False)], "пайдаланылған аккумуляторлар", "solid"),
    (r"tyre|rubber", [("изношенные шины", "pl", False)], "тозған шиналар", "solid"),
    (r"concrete", [("бетонный лом", "m", False)], "бетон сынықтары", "solid"),
    (r"brick|tile|ceramic", [("кирпичный бой", "m", False)], "кірпіш сынықтары", "solid"),
    (r"glass", [("стеклобой", "m", True)], "шыны сынықтары", "solid"),
    (r"plastic", [("полимерные отходы", "pl", False)], "пластик қалдықтары", "solid"),
    (r"paper|cardboard", [("макулатура", "f", True)], "қағаз қалдықтары", "solid"),
    (r"packaging", [("тара", "f", True), ("упаковка", "f", True)], "қаптама", "solid"),
    (r"wood|sawdust|bark", [("древесные отходы", "pl", False), ("опилки", "pl", True)],
     "ағаш қалдықтары", "solid"),
    (r"catalyst", [("отработанные катализаторы", "pl", False)], "пайдаланылған катализаторлар", "solid"),
    (r"solvent", [("отработанные растворители", "pl", False)], "пайдаланылған еріткіштер", "liquid"),
    (r"acid", [("отработанная кислота", "f", False)], "пайдаланылған қышқыл", "liquid"),
    (r"gypsum|calcium", [("фосфогипс", "m", True), ("гипс", "m", True)], "гипс", "powder"),
    (r"lining|refractor", [("футеровка", "f", True)], "футеровка", "solid"),
    (r"absorbent|filter", [("отработанные сорбенты", "pl", False)], "пайдаланылған сорбенттер", "solid"),
    (r"paint|varnish|ink|adhesive", [("лакокрасочные отходы", "pl", False)], "бояу қалдықтары", "paste"),
    (r"metal|iron|steel|copper|alumin|lead|zinc|cable", [("металлолом", "m", True)],
     "металл сынықтары", "solid"),
    (r"excavation|overburden|rock|soil|stone|gravel|sand|clay|mineral",
     [("вскрышные породы", "pl", False), ("отвальные породы", "pl", False), ("грунт", "m", True)],
     "аршылған жыныстар", "solid"),
    (r"animal|manure|fish|vegetable|food|biodegradable", [("органические отходы", "pl", False)],
     "органикалық қалдықтар", "mixed"),
    (r"textile|fibre|leather|fur", [("текстильные отходы", "pl", False)], "тоқыма қалдықтары", "solid"),
]
FALLBACK = ([("отходы", "pl", False)], "өндіріс қалдықтары", "mixed")

# subchapter (or chapter) → (adjective stems, genitive phrases, Kazakh qualifier, element)
PLACES = {
    "1001": ([], ["ТЭЦ", "угольной котельной", "Экибастузской ГРЭС"], "ЖЭО", None),
    "1002": (["доменн", "сталеплавильн", "конвертерн"], ["металлургического комбината"],
             "болат қорыту", "железа"),
    "1003": (["алюминиев"], ["алюминиевого завода", "глинозёмного производства"],
             "алюминий өндірісі", "алюминия"),
    "1004": (["свинцов"], ["свинцового завода"], "қорғасын өндірісі", "свинца"),
    "1005": (["цинков"], ["цинкового производства"], "мырыш өндірісі", "цинка"),
    "1006": (["медеплавильн"], ["медеплавильного завода", "медного производства"],
             "мыс қорыту", "меди"),
    "1007": (["аффинажн"], ["аффинажного производства"], "аффинаж өндірісі", "серебра"),
    "1008": (["ферросплавн"], ["ферросплавного завода"], "ферроқорытпа өндірісі", "хрома"),
    "1009": (["литейн"], ["литейного цеха"], "құю цехы", "железа"),
    "1010": (["литейн"], ["литейного цеха"], "құю цехы", "меди"),
    "1012": ([], ["керамического производства"], "керамика өндірісі", None),
    "1013": (["цементн"], ["цементного завода"], "цемент зауыты", None),
    "01": (["отвальн", "лежал"], ["обогатительной фабрики", "горно-обогатительного комбината",
                                   "карьера"], "байыту фабрикасы", "меди"),
    "05": ([], ["нефтеперерабатывающего завода", "месторождения"], "мұнай өңдеу", None),
    "06": ([], ["химического производства"], "химия өндірісі", None),
    "11": (["гальваническ"], ["гальванического цеха"], "гальваника цехы", "цинка"),
    "12": ([], ["механического цеха", "машиностроительного завода"], "механикалық цех", "железа"),
    "13": ([], ["автопарка", "энергоцеха"], "автопарк", None),
    "15": ([], ["склада", "торгового центра"], "қойма", None),
    "16": ([], ["автопарка", "предприятия"], "кәсіпорын", None),
    "17": ([], ["от сноса зданий", "строительной площадки"], "құрылыс алаңы", None),
    "19": ([], ["очистных сооружений", "установки обезвреживания"], "тазарту құрылыстары", None),
    "20": ([], ["города", "административного здания"], "қала", None),
}
DEFAULT_PLACE = ([], ["производства", "предприятия"], "өндіріс", None)

GENERIC_ADJ = ["гранулированн", "окисленн", "мелкодисперсн", "влажн", "отвальн"]
STORAGE = ["отвал предприятия", "шламонакопитель", "золоотвал", "крытый склад",
           "хвостохранилище", "площадка временного хранения", "открытая площадка"]
STORAGE_KK = ["үйіндіде", "қоймада", "шлам жинағышта", "күл үйіндісінде", "алаңда"]
SHIPPING = ["ж/д транспортом", "автотранспортом покупателя", "в биг-бэгах", "навалом",
            "в контейнерах"]
USES = {
    "10": ["производства цемента", "дорожного строительства", "извлечения металлов",
           "производства шлакоблоков", "изготовления абразивов"],
    "01": ["доизвлечения металлов", "производства строительных материалов",
           "закладки выработанного пространства", "рекультивации"],
    "17": ["производства вторичного щебня", "подсыпки дорог"],
    "19": ["рекультивации", "производства компоста", "обезвреживания"],
}
DEFAULT_USES = ["переработки", "вторичного использования", "обезвреживания", "утилизации"]
EXTRA = ["Анализы аккредитованной лаборатории прилагаются.", "Осмотр по предварительной договорённости.",
         "Торг уместен.", "Документы: протокол испытаний, паспорт отхода.",
         "Погрузка силами продавца.", "Возможна поставка партиями.", "Объём уточняется по замеру.",
         "Приоритет — переработчикам с лицензией.", "Подъездные пути в хорошем состоянии."]
EXTRA_KK = ["Өнеркәсіптік қалдық, өңдеуге береміз.", "Тиеу сатушының есебінен.",
            "Зертхана талдаулары бар.", "Алдын ала келісім бойынша қарауға болады."]

_ENDINGS_HARD = {"m": "ый", "f": "ая", "n": "ое", "pl": "ые"}
_ENDINGS_VELAR = {"m": "ий", "f": "ая", "n": "ое", "pl": "ие"}


def adjective(stem: str, gender: str) -> str:
    endings = _ENDINGS_VELAR if stem[-1] in "кгх" else _ENDINGS_HARD
    return stem + endings[gender]


def noun_for(description_en: str):
    # "... containing heavy metals", "... other than those mentioned in" name no material
    text = re.split(r"\b(?:containing|other than|except)\b", description_en.lower())[0]
    for pattern, ru, kk, state in NOUNS:
        if re.search(pattern, text):
            return ru, kk, state
    return FALLBACK


def place_for(subchapter: str):
    return PLACES.get(subchapter) or PLACES.get(subchapter[:2]) or DEFAULT_PLACE


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def texts(rng: Random, code, quantity: str, hazardous: bool, kazakh: bool) -> tuple[str, str]:
    """(title, description) of a lot of this code; Kazakh title and a Kazakh part when asked."""
    ru_nouns, kk_noun, state = noun_for(code.description_en)
    adjs, phrases, kk_place, element = place_for(code.subchapter)
    noun, gender, single = rng.choice(ru_nouns)
    phrase = rng.choice(phrases)
    if kazakh:
        title = f"{cap(kk_noun)} ({kk_place})" if rng.random() < 0.7 else f"{cap(kk_noun)}, {quantity} т"
    else:
        form = rng.random()
        if single and (adjs or form < 0.3) and form < 0.6:
            adj = rng.choice(adjs or GENERIC_ADJ)
            title = f"{cap(adjective(adj, gender))} {noun}"
            if form < 0.15:
                title += f", {quantity} т"
        elif form < 0.85:
            title = f"{cap(noun)} {phrase}"
        else:
            title = f"{cap(noun)} ({code.code})"
    parts = [f"{cap(noun)} {phrase}. Место хранения — {rng.choice(STORAGE)}.",
             f"Объём партии {quantity} т."]
    if element and rng.random() < 0.6:
        parts.append(f"Содержание {element} — {rng.uniform(0.1, 4):.2f} %.".replace(".", ",", 1))
    if state in ("solid", "powder"):
        parts.append(f"Влажность {rng.randint(2, 25)} %, фракция 0–{rng.choice((1, 5, 10, 40, 200))} мм.")
    parts.append(f"Отгрузка {rng.choice(SHIPPING)}.")
    parts.append(f"Подходит для {rng.choice(USES.get(code.chapter, DEFAULT_USES))}.")
    if hazardous:
        parts.append(f"Паспорт опасного отхода оформлен, класс опасности {rng.randint(2, 4)}.")
    parts += rng.sample(EXTRA, rng.randint(0, 2))
    if kazakh or rng.random() < 0.2:
        parts.append(f"{cap(kk_noun)} {rng.choice(STORAGE_KK)} сақталады. {rng.choice(EXTRA_KK)}")
    return title[:200], " ".join(parts)


def stream_name(code) -> str:
    ru_nouns, _kk, _state = noun_for(code.description_en)
    _adjs, phrases, _kk_place, _el = place_for(code.subchapter)
    return f"{cap(ru_nouns[0][0])} {phrases[0]}"[:200]


def physical_state(code) -> str:
    return noun_for(code.description_en)[2]
