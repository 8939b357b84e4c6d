"""Timezone-aware UTC timestamps; display in Asia/Almaty."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

ALMATY = ZoneInfo("Asia/Almaty")


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone columns: treat them as UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_almaty(value: datetime) -> datetime:
    return aware(value).astimezone(ALMATY)


def today_almaty():
    """Today's date in Kazakhstan (Asia/Almaty): what licence and availability dates mean."""
    return to_almaty(utcnow()).date()
