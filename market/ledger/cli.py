"""`flask ledger publish` and `flask ledger verify`."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from market.core.txn import commit

ledger_cli = AppGroup("ledger", help="The public ledger: tree heads and verification.")


@ledger_cli.command("publish")
def publish_command() -> None:
    """Sign and publish a tree head if the ledger grew since the last one."""
    from market.ledger.operations import publish
    from market.ledger.signing import SigningKeyMissing

    try:
        head = publish()
    except SigningKeyMissing as exc:
        raise click.ClickException(str(exc)) from exc
    commit()
    if head is None:
        click.echo("Ledger unchanged: no new tree head.")
    else:
        click.echo(f"Tree head published: size {head.size}, root {head.root_hash}.")


@ledger_cli.command("verify")
@click.option("--batch", default=20000, show_default=True, help="Rows fetched at a time.")
def verify_command(batch: int) -> None:
    """Recompute every leaf, every published root and signature; exit 1 at the first problem."""
    from market.ledger.verify import verify_ledger

    started = time.perf_counter()
    report = verify_ledger(batch=batch)
    took = time.perf_counter() - started
    if report.ok:
        click.echo(f"Ledger OK: {report.entries} entries, {report.heads} signed tree heads, "
                   f"{took:.2f} s.")
        return
    click.echo(f"Ledger BROKEN at {report.problem}", err=True)
    raise SystemExit(1)
