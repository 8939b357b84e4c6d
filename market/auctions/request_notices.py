"""Notices of free transfer requests: in-app and through the e-mail outbox (sent after commit).

A new request reaches the holder's owners and managers (a revision or a withdrawal in-app
only); the holder's decision reaches the requester's owners and managers.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from market.core.notify import notify, queue_email
from market.core.timeutil import to_almaty
from market.lots.wanted import managers


def _link(lot) -> tuple[str, str]:
    url = f"/lots/{lot.id}"
    return url, current_app.config["PUBLIC_URL"].rstrip("/") + url + "#transfer-requests"


def tell_holder(lot, bid, kind: str) -> None:
    """The holder hears of a new ("placed"), revised or withdrawn request."""
    url, link = _link(lot)
    org = bid.organization.name
    texts = {
        "placed": _l("Новая заявка на лот «%(title)s» от «%(org)s»: операция %(op)s.",
                     title=lot.title, org=org, op=bid.operation_code),
        "revised": _l("«%(org)s» изменила заявку на лот «%(title)s»: операция %(op)s.",
                      title=lot.title, org=org, op=bid.operation_code),
        "withdrawn": _l("«%(org)s» отозвала заявку на лот «%(title)s».", title=lot.title, org=org),
    }
    for user in managers(lot.organization_id):
        notify(user, f"transfer_request.{kind}", str(texts[kind]), url)
        if kind == "placed":
            queue_email(user.email, _l("Новая заявка на лот «%(title)s»", title=lot.title),
                        "email/transfer_request_new.txt", user=user, lot=lot, bid=bid, link=link)


def tell_accepted(lot, bid, deal) -> None:
    url, link = _link(lot)
    sign_by = to_almaty(deal.sign_by).strftime("%d.%m.%Y")
    text = _l("Ваша заявка на лот «%(title)s» принята: лот передаётся вам безвозмездно. "
              "Подпишите договор до %(by)s.", title=lot.title, by=sign_by)
    for user in managers(bid.organization_id):
        notify(user, "transfer_request.accepted", str(text), url)
        queue_email(user.email, _l("Заявка на лот «%(title)s» принята", title=lot.title),
                    "email/transfer_request_accepted.txt", user=user, lot=lot, deal=deal,
                    sign_by=sign_by, link=link)


def tell_declined(lot, bid, reason: str | None) -> None:
    """The requester hears its request was declined (``reason``) or that the lot closed."""
    url, link = _link(lot)
    if reason is None:
        text = _l("Лот «%(title)s» закрыт без передачи: ваша заявка не принята.", title=lot.title)
    else:
        text = _l("Ваша заявка на лот «%(title)s» отклонена: %(reason)s", title=lot.title,
                  reason=reason)
    for user in managers(bid.organization_id):
        notify(user, "transfer_request.declined", str(text), url)
        queue_email(user.email, _l("Заявка на лот «%(title)s» не принята", title=lot.title),
                    "email/transfer_request_declined.txt", user=user, lot=lot, reason=reason,
                    link=link)
