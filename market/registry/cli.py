"""`flask registry ...`: prove the cached balances equal the journal; run the limits job."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from market.core.txn import commit
from market.registry.journal import check_balances
from market.registry.limits import flag_overdue_streams, send_digest

registry_cli = AppGroup("registry", help="The waste registry.")


@registry_cli.command("check-balances")
def check_balances_command() -> None:
    """Compare every cached balance and FIFO layer total with the sum of its journal."""
    bad = check_balances()
    for sid, cache, total, layers in bad:
        click.echo(f"stream {sid}: cached {cache} journal {total} layers {layers}")
    if bad:
        raise click.ClickException(f"{len(bad)} stream(s) differ from their journal")
    click.echo("Every cached balance equals the sum of its journal.")


@registry_cli.command("flag-overdue")
def flag_overdue_command() -> None:
    """Flag stock stored past its legal limit now (the job does it every hour)."""
    newly = flag_overdue_streams()
    send_digest(newly)
    commit()
    click.echo(f"{len(newly)} stream(s) newly flagged as must be offered for transfer.")
