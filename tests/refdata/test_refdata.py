"""Reference data: the project's copy equals ../shared/data; loading is complete and idempotent."""

import csv
import filecmp
from pathlib import Path

import pytest

from market.extensions import db
from market.refdata.loader import DATA_DIR, load_all
from market.refdata.models import HazardProperty, Operation, Region, WasteChapter, WasteCode

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not beside this clone")
def test_copy_equals_shared_data():
    shared = sorted(p.name for p in SHARED.iterdir() if p.is_file())
    ours = sorted(p.name for p in DATA_DIR.iterdir() if p.is_file())
    assert ours == shared, "market/refdata/data must hold exactly the files of ../shared/data"
    _match, mismatch, errors = filecmp.cmpfiles(SHARED, DATA_DIR, shared, shallow=False)
    assert not mismatch and not errors, f"copy differs from ../shared/data: {mismatch + errors}"


def test_classifier_is_complete(session):
    with (DATA_DIR / "waste_codes_ewc.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    codes = {c.code6: c for c in db.session.scalars(db.select(WasteCode))}
    assert set(codes) == {r["code6"] for r in rows}
    hazardous = sum(1 for r in rows if r["hazardous"] == "1")
    assert hazardous == 408
    assert sum(1 for c in codes.values() if c.hazardous) == hazardous
    assert codes["010304"].code == "01 03 04*" and codes["010304"].hazardous


def test_other_tables_complete(session):
    assert db.session.scalar(db.select(db.func.count(Region.kato))) == 20
    assert db.session.scalar(db.select(db.func.count(WasteChapter.chapter))) == 20
    assert db.session.scalar(db.select(db.func.count(Operation.code))) == 28
    assert db.session.scalar(db.select(db.func.count(HazardProperty.code))) == 15


def test_second_load_changes_nothing(session):
    results = load_all()
    assert not any(r.changed for r in results)


def test_load_picks_up_new_language_columns(session, tmp_path):
    """A later ru/kk column in the classifier loads without code changes."""
    for p in DATA_DIR.iterdir():
        if p.suffix == ".csv":
            (tmp_path / p.name).write_bytes(p.read_bytes())
    path = tmp_path / "waste_codes_ewc.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fields = [*rows[0].keys(), "description_ru"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fields)
        w.writeheader()
        for r in rows:
            w.writerow({**r, "description_ru": "рус " + r["code"] if r["code6"] == "010101" else ""})
    results = {r.table: r for r in load_all(tmp_path)}
    assert results["waste_code"].updated == 1
    assert db.session.get(WasteCode, "010101").description_ru == "рус 01 01 01"


def test_cli_reports_no_change(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["refdata", "load"])
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output
