"""`flask users ...`: create the first admin, grant roles from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from market.accounts.models import User
from market.accounts.operations import find_user, hash_password, normalize_email
from market.accounts.platform import set_platform_roles
from market.core import audit
from market.core.timeutil import utcnow
from market.core.txn import commit
from market.extensions import db

users_cli = AppGroup("users", help="User accounts and platform roles.")


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", "full_name", prompt="Full name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email: str, full_name: str, password: str) -> None:
    """Create an admin account, or make an existing account admin."""
    if len(password) < 10:
        raise click.BadParameter("at least 10 characters", param_hint="--password")
    user = find_user(email)
    if user is None:
        user = User(email=normalize_email(email), full_name=full_name,
                    password_hash=hash_password(password), email_confirmed_at=utcnow())
        db.session.add(user)
        db.session.flush()
        audit.record("user.created_by_cli", user)
    set_platform_roles(user, actor=None, is_official=user.is_official, is_admin=True)
    commit()
    click.echo(f"{user.email} is an admin.")


@users_cli.command("grant-official")
@click.argument("email")
@click.option("--region", "regions", multiple=True, help="KATO code; repeat for several.")
def grant_official(email: str, regions: tuple[str, ...]) -> None:
    """Make an existing user an official (of the given regions, or the whole country)."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    set_platform_roles(user, actor=None, is_official=True, is_admin=user.is_admin,
                       region_katos=list(regions))
    commit()
    click.echo(f"{user.email} is an official ({', '.join(regions) or 'all regions'}).")
