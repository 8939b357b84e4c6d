"""Periodic registry jobs."""

from huey import crontab

from market.core.jobs import periodic
from market.registry.limits import flag_overdue_streams, send_digest


@periodic(crontab(minute="5"))
def flag_storage_limits() -> int:
    """Every hour: flag stock stored past its legal limit and e-mail a digest of new flags."""
    newly = flag_overdue_streams()
    send_digest(newly)
    return len(newly)
