"""`flask demo`: create the demo world once (a second run leaves it as it is)."""

from __future__ import annotations

import click

from market.demo.world import DEMO_PASSWORD, build_world


@click.command("demo")
def demo_command() -> None:
    """Create demo organisations and users with documented logins."""
    from market.core.txn import commit

    created = build_world()
    commit()
    if created:
        click.echo(f"Demo world created. Every demo login uses the password {DEMO_PASSWORD!r}:")
        for email, what in created:
            click.echo(f"  {email:28} {what}")
    else:
        click.echo("Demo data already present: nothing changed.")
