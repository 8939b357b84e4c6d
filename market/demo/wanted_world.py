"""Demo wanted posts: the battery recycler looks for lead-bearing waste (its licence covers the
smelter's hazardous dust), the cement plant for slag and ash, the investor for tailings."""

from __future__ import annotations

from datetime import timedelta

from market.accounts.models import Organization, User
from market.core.timeutil import today_almaty
from market.lots.wanted import create_wanted

KARAGANDA, PAVLODAR = "350000000", "550000000"


def build_wanted(users: dict[str, User], orgs: dict[str, Organization]) -> None:
    """Publish the posts after the lots: each is matched with the open lots right away."""
    today = today_almaty()
    create_wanted(
        orgs["battery@qaldyq.kz"], actor=users["battery@qaldyq.kz"],
        title="Свинецсодержащие отходы: аккумуляторы, шлаки и пыли",
        codes="16 06 01*, 10 04, 10 06 03*", regions=[], operation_code="R4",
        monthly_quantity="500", price=2_500_000, price_kind="pay",
        valid_to=today + timedelta(days=180),
        description="Принимаем отработанные свинцовые аккумуляторы, свинцовые шлаки и пыли "
                    "газоочистки с содержанием Pb от 5 %. Вывоз своим транспортом по всему "
                    "Казахстану, лицензия на опасные отходы.")
    create_wanted(
        orgs["cement@qaldyq.kz"], actor=users["cement@qaldyq.kz"],
        title="Гранулированный шлак и зола-унос для производства клинкера",
        codes="10 06 01, 10 02 02, 10 01 02", regions=[KARAGANDA, PAVLODAR], operation_code="R5",
        monthly_quantity="5000", price=120_000, price_kind="pay",
        description="Шлак фракции 0–5 мм, влажность до 8 %; зола-унос сухая. Приёмка по "
                    "железной дороге на станции Актау (Карагандинская обл.).")
    create_wanted(
        orgs["investor@qaldyq.kz"], actor=users["investor@qaldyq.kz"],
        title="Хвосты обогащения медных руд для доизвлечения металлов",
        codes="01 03", regions=[], quantity="1000000", price_kind="pay",
        description="Рассматриваем хвостохранилища и лежалые хвосты с содержанием Cu от 0,2 % "
                    "для совместного проекта переработки.")
