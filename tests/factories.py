"""Factory fixtures: objects flushed into the test's transaction, never committed."""

from __future__ import annotations

import itertools

import pytest

from market.accounts.bin import check_digit
from market.accounts.models import Membership, Organization, OrgRole, User
from market.accounts.operations import hash_password
from market.core.timeutil import utcnow
from market.extensions import db

PASSWORD = "correct-horse-9"
_HASH = None
_seq = itertools.count(1)


def _password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    return _HASH


def valid_bin(n: int) -> str:
    """A BIN with a correct check digit, unique per n."""
    for salt in range(100):
        prefix = f"{(n * 7 + salt) % 100:02d}01" + "4" + f"{n:06d}"[-6:]
        digit = check_digit(prefix)
        if digit is not None:
            return prefix + str(digit)
    raise AssertionError("no BIN")


@pytest.fixture
def create_user(session):
    def make(email: str | None = None, *, confirmed: bool = True, **kwargs) -> User:
        n = next(_seq)
        user = User(email=email or f"user{n}@example.kz", full_name=kwargs.pop("full_name", f"User {n}"),
                    password_hash=_password_hash(), email_confirmed_at=utcnow() if confirmed else None,
                    **kwargs)
        db.session.add(user)
        db.session.flush()
        return user

    return make


@pytest.fixture
def create_org(session, create_user):
    def make(owner: User | None = None, *, state: str = "verified", region: str = "350000000",
             kinds=("holder",), **kwargs) -> Organization:
        n = next(_seq)
        owner = owner or create_user()
        org = Organization(bin=kwargs.pop("bin", valid_bin(n)), name=kwargs.pop("name", f"ТОО Org {n}"),
                           region_kato=region, address="Караганда", state=state,
                           created_by_id=owner.id, **kwargs)
        org.kinds = list(kinds)
        db.session.add(org)
        db.session.flush()
        db.session.add(Membership(user=owner, organization=org, role=OrgRole.owner.value))
        owner.current_org_id = org.id
        db.session.flush()
        db.session.refresh(owner)
        return org

    return make


@pytest.fixture
def add_member(session):
    def make(org: Organization, user: User, role: str = "member") -> Membership:
        m = Membership(user=user, organization=org, role=role)
        db.session.add(m)
        db.session.flush()
        db.session.refresh(user)
        db.session.refresh(org)
        return m

    return make


@pytest.fixture
def create_official(create_user, session):
    def make(regions=(), **kwargs) -> User:
        from market.refdata.models import Region

        user = create_user(is_official=True, **kwargs)
        user.official_regions = [db.session.get(Region, k) for k in regions]
        db.session.flush()
        return user

    return make


# registry -----------------------------------------------------------------------------------
@pytest.fixture
def holder(create_org):
    """A verified holder organisation (owner: ``owner``)."""
    return create_org(kinds=("holder",))


@pytest.fixture
def owner(holder):
    return holder.owners[0].user


@pytest.fixture
def site(holder, owner):
    from market.registry import operations as ops

    return ops.create_site(holder, actor=owner, name="Шлакоотвал №1", kind="storage",
                           region_kato="350000000", address="г. Балхаш", lat=46.85, lon=74.98)


@pytest.fixture
def make_stream(site, owner):
    from market.registry import operations as ops

    def make(code="100201", purpose="recovery", hps=None, name="Шлак", on_site=None):
        return ops.create_stream(on_site or site, actor=owner, waste_code=code, name=name,
                                 physical_state="solid", storage_purpose=purpose,
                                 hazard_properties=hps)
    return make


def seed_holder(app, n: int = 1, *, code: str = "100201"):
    """A committed holder (user, verified organisation, site, stream) in app's own database.

    For tests with real parallel connections; returns (user_id, org_id, stream_id).
    """
    from market.core.txn import commit
    from market.registry import operations as ops

    with app.app_context():
        user = User(email=f"seed{n}@example.kz", full_name="Seed", password_hash="x")
        org = Organization(bin=valid_bin(5000 + n), name=f"ТОО Сид {n}", region_kato="350000000",
                           address="x", state="verified")
        org.kinds = ["holder"]
        db.session.add_all([user, org])
        db.session.flush()
        db.session.add(Membership(user=user, organization=org, role=OrgRole.owner.value))
        db.session.flush()
        db.session.refresh(user)
        site = ops.create_site(org, actor=user, name="S", kind="storage", region_kato="350000000",
                               address="x")
        stream = ops.create_stream(site, actor=user, waste_code=code, name="Шлак",
                                   physical_state="solid", storage_purpose="recovery")
        commit()
        return user.id, org.id, stream.id
