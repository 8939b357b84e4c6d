"""`flask refdata load`: load reference data from the project's copy of the CSV files."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from market.core.txn import commit
from market.refdata.loader import load_all

refdata_cli = AppGroup("refdata", help="Reference data (classifier, KATO, R/D codes, HP).")


@refdata_cli.command("load")
def load_command() -> None:
    """Load or refresh reference data; a second run changes nothing and says so."""
    results = load_all()
    commit()
    for r in results:
        click.echo(f"{r.table:18} inserted {r.inserted:4}  updated {r.updated:4}  unchanged {r.unchanged:4}")
    if not any(r.changed for r in results):
        click.echo("Reference data is up to date: nothing changed.")
