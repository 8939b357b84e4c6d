"""Periodic publication of the signed tree head."""

from __future__ import annotations

import logging

from huey import crontab

from market.core.jobs import periodic

log = logging.getLogger("qaldyq.ledger")


@periodic(crontab(minute="*/5"))
def publish_tree_head() -> int:
    """Every 5 minutes: a new signed tree head when the ledger grew (returns its size, or 0)."""
    from market.ledger.operations import publish
    from market.ledger.signing import SigningKeyMissing

    try:
        head = publish()
    except SigningKeyMissing as exc:
        log.error("ledger tree head not published: %s", exc)
        return 0
    return head.size if head is not None else 0
