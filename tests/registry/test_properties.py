"""Property-based: no sequence of accepted records makes a balance negative; caches agree."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.core.errors import DomainError
from market.extensions import db
from market.registry.journal import check_balances, journal_sum, record

KINDS = ["generated", "received", "transferred_out", "processed", "disposed", "correction"]
OPS = {"processed": "R4", "disposed": "D5"}

step = st.tuples(
    st.sampled_from(KINDS),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3),
    st.integers(min_value=0, max_value=400),
    st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_accepted_records_never_go_negative(stream, owner, steps):
    nested = db.session.begin_nested()
    try:
        accepted = []
        expected = Decimal(0)
        for kind, qty, days_ago, up in steps:
            corrects = accepted[-1] if kind == "correction" and accepted else None
            try:
                r = record(stream, actor=owner, kind=kind, quantity=qty,
                           event_date=date(2026, 11, 1) - timedelta(days=days_ago),
                           operation_code=OPS.get(kind), corrects=corrects,
                           increase=up if kind == "correction" else None,
                           note="проверка" if kind == "correction" else None,
                           today=date(2026, 11, 25))
            except DomainError:
                continue
            accepted.append(r)
            expected += r.delta
            assert stream.balance >= 0
            assert r.balance_after == stream.balance
        assert stream.balance == expected == journal_sum(stream.id)
        assert check_balances() == []
    finally:
        nested.rollback()
        db.session.expire_all()
