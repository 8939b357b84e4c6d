"""Helpers of the bidding tests."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from market.core.errors import DomainError


def plain(text) -> str:
    """Text with the narrow and non-breaking spaces of money formatting as plain spaces."""
    return str(text).replace("\u00a0", " ").replace("\u202f", " ")


@contextmanager
def refused(text: str, exc: type[Exception] = DomainError):
    """Expect ``exc`` whose message contains ``text`` (spaces normalised)."""
    with pytest.raises(exc) as info:
        yield info
    assert text in plain(info.value), plain(info.value)
