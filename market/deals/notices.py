"""What the parties hear when a deal ends or moves on: in-app notices and e-mails (outbox).

Each function writes its notifications in the current transaction (seen after commit); e-mails
go through the outbox after commit. Links point at the deal's page.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from market.core.notify import notify, queue_email
from market.core.timeutil import to_almaty
from market.lots.money import format_kzt
from market.lots.wanted import managers


def deal_url(deal) -> str:
    return f"/deals/{deal.id}"


def _link(deal) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + deal_url(deal)


def _date(value) -> str:
    return to_almaty(value).strftime("%d.%m.%Y")


def _tell(org_id: int, kind: str, text, deal) -> None:
    for user in managers(org_id):
        notify(user, kind, str(text), deal_url(deal))


def lapsed(deal) -> None:
    """The deal was not signed by its deadline: the buyer and the holder hear it."""
    title = deal.lot.title
    _tell(deal.buyer_id, "deal.lapsed", _l(
        "Сделка по лоту «%(title)s» не подписана до %(by)s и больше не действует.",
        title=title, by=_date(deal.sign_by)), deal)
    if deal.is_purchase:
        text = _l("Покупатель %(buyer)s не подписал сделку по лоту «%(title)s» в срок: %(qty)s т "
                  "вернулись в продажу.", buyer=deal.buyer.name, title=title, qty=str(deal.quantity))
    else:
        text = _l("Покупатель %(buyer)s не подписал сделку по лоту «%(title)s» в срок. Предложите "
                  "лот следующему участнику или закройте его.", buyer=deal.buyer.name, title=title)
    _tell(deal.seller_id, "deal.lapsed", text, deal)


def withdrawn(deal) -> None:
    """The buyer backed out: the holder hears it (and what it may do now)."""
    title = deal.lot.title
    if deal.is_purchase:
        text = _l("Покупатель %(buyer)s отказался от сделки по лоту «%(title)s» (%(reason)s): "
                  "%(qty)s т вернулись в продажу.", buyer=deal.buyer.name, title=title,
                  reason=deal.end_reason, qty=str(deal.quantity))
    else:
        text = _l("Покупатель %(buyer)s отказался от сделки по лоту «%(title)s» (%(reason)s). "
                  "Предложите лот следующему участнику или закройте его.", buyer=deal.buyer.name,
                  title=title, reason=deal.end_reason)
    _tell(deal.seller_id, "deal.withdrawn", text, deal)


def declined(deal) -> None:
    """The next bidder declined the offer: the holder may go on to the next one."""
    _tell(deal.seller_id, "deal.declined", _l(
        "Участник %(buyer)s отклонил предложение по лоту «%(title)s». Предложите лот следующему "
        "участнику или закройте его.", buyer=deal.buyer.name, title=deal.lot.title), deal)


def offered(deal) -> None:
    """The next-best bidder is offered the deal at its own price: in-app and e-mail."""
    lot = deal.lot
    total, by = format_kzt(deal.total), _date(deal.sign_by)
    text = _l("Вам предложена сделка по лоту «%(title)s» по цене вашей ставки: сумма %(total)s. "
              "Подпишите договор до %(by)s или откажитесь.", title=lot.title, total=total, by=by)
    for user in managers(deal.buyer_id):
        notify(user, "deal.offered", str(text), deal_url(deal))
        queue_email(user.email, _l("Вам предложена сделка по лоту «%(title)s»", title=lot.title),
                    "deals/email_offered.txt", user=user, lot=lot, deal=deal, total=total,
                    sign_by=by, link=_link(deal))


def lot_closed(deal) -> None:
    """The holder closed the lot after the failed deal: the failed buyer hears it too."""
    _tell(deal.buyer_id, "deal.lot_closed", _l(
        "Лот «%(title)s» закрыт держателем без покупателя.", title=deal.lot.title), deal)
