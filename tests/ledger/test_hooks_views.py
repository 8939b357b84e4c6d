"""Entries appended by domain events; the public pages and JSON; the standalone verifier."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from market.accounts.verification import decide
from market.auctions.auction import auction_of
from market.auctions.bidding import place_bid
from market.deals.models import Deal
from market.extensions import db
from market.ledger import merkle, signing
from market.ledger.canonical import leaf_text
from market.ledger.models import LedgerEntry
from market.ledger.operations import publish
from market.lots.closing import close_lot

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger.py"


def entries(kind=None):
    q = select(LedgerEntry).order_by(LedgerEntry.sequence)
    if kind:
        q = q.where(LedgerEntry.kind == kind)
    return db.session.scalars(q).all()


def test_verification_and_suspension_are_recorded(create_org, create_official):
    org = create_org(state="pending")
    official = create_official()
    decide(org, "verify", actor=official)
    decide(org, "suspend", actor=official, reason="Нарушение")
    decide(org, "reinstate", actor=official)
    got = [(e.kind, json.loads(e.payload)) for e in entries()]
    assert [k for k, _ in got] == ["org.verified", "org.suspended", "org.reinstated"]
    assert got[1][1] == {"organization": {"id": org.id, "bin": org.bin, "name": org.name},
                         "state": "suspended", "reason": "Нарушение"}
    org2 = create_org(state="pending")
    decide(org2, "reject", actor=official, reason="Нет документов")  # not a ledger event
    assert len(entries()) == 3


def test_award_is_recorded_with_the_bid_log_hash(make_lot, bidder):
    lot = make_lot("english")
    org, user = bidder()
    place_bid(lot, actor=user, organization=org, amount=100_000_000)
    close_lot(lot, now=auction_of(lot).ends_at + timedelta(seconds=1))
    deal = db.session.scalars(select(Deal).where(Deal.lot_id == lot.id)).one()
    (entry,) = entries("lot.awarded")
    data = json.loads(entry.payload)
    assert data["deal"] == deal.id and data["lot"]["id"] == lot.id
    assert data["buyer"]["bin"] == org.bin and data["seller"]["id"] == lot.organization_id
    assert data["unit_price"] == deal.unit_price and data["total"] == deal.total
    assert data["quantity"] == str(deal.quantity)
    assert data["bid_log_sha256"] == deal.bid_log_sha256 and len(deal.bid_log_sha256) == 64


def test_pages_empty_state(client):
    r = client.get("/ledger/")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "В реестре пока нет записей." in body
    assert 'data-testid="no-tree-head"' in body and "Как проверить реестр" in body
    assert client.get("/ledger/api/tree-head.json").status_code == 404
    assert client.get("/ledger/entries/0").status_code == 404
    assert client.get("/ledger/api/entries/0.json").status_code == 404
    key = client.get("/ledger/api/public-key.json").get_json()
    assert key["key_id"] == signing.key_id(bytes.fromhex(key["public_key_hex"]))
    assert key["key_id"] in client.get("/ledger/key").get_data(as_text=True)


def test_pages_and_json(client, fill):
    fill(5)
    head = publish()
    fill(1, start=5)  # not yet published
    body = client.get("/ledger/").get_data(as_text=True)
    assert head.root_hash in body and body.index("/ledger/entries/5") < body.index(
        "/ledger/entries/0")  # newest first
    page = client.get("/ledger/entries/3").get_data(as_text=True)
    assert 'data-testid="audit-path"' in page and "Тест «3»" in page
    assert 'data-testid="not-yet-included"' in client.get("/ledger/entries/5").get_data(
        as_text=True)

    data = client.get("/ledger/api/entries/3.json").get_json()
    assert data["leaf"] == leaf_text(3, data["kind"], data["time"], data["payload_canonical"])
    proof = [bytes.fromhex(h) for h in data["inclusion"]["audit_path"]]
    merkle.verify_inclusion(3, 5, bytes.fromhex(data["leaf_hash"]), proof,
                            bytes.fromhex(data["tree_head"]["root_hash"]))
    assert client.get("/ledger/api/entries/5.json").get_json()["inclusion"] is None
    assert client.get("/ledger/api/tree-heads/5.json").get_json()["root_hash"] == head.root_hash
    assert client.get("/ledger/api/tree-head.json").get_json()["tree_size"] == 5
    r = client.get("/ledger/api/tree-head.json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(("url", "status"), [
    ("/ledger/api/entries/0.json?tree_size=abc", 400),
    ("/ledger/api/entries/0.json?tree_size=99999999999", 400),
    ("/ledger/api/entries/0.json?tree_size=4", 404),
    ("/ledger/api/consistency.json?first=1", 400),
    ("/ledger/api/consistency.json?first=x&second=2", 400),
    ("/ledger/api/consistency.json?first=3&second=2", 400),
    ("/ledger/api/consistency.json?first=1&second=3", 404),
    ("/ledger/api/tree-heads/7.json", 404),
    ("/ledger/api/entries/99999999999.json", 404),
    ("/ledger/entries/-1", 404),
    ("/ledger/?page=abc", 200),
    ("/ledger/?page=99999999999999", 200),
])
def test_bad_parameters_are_clear_answers(client, fill, url, status):
    fill(3)
    publish()
    assert client.get(url).status_code == status


def _script():
    spec = importlib.util.spec_from_file_location("verify_ledger", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_imports_nothing_from_the_app():
    source = SCRIPT.read_text()
    assert "market" not in {line.split()[1].split(".")[0] for line in source.splitlines()
                            if line.startswith(("import ", "from "))}


def test_standalone_script_verifies_and_catches_forgeries(client, fill, unguarded, capsys):
    tool = _script()
    fill(3)
    publish()
    fill(4, start=3)
    publish()

    def fetch(path):
        r = client.get(path)
        assert r.status_code == 200, path
        return r.get_json()

    args = ["http://test", "--entry", "2", "--first", "3", "--second", "7"]
    assert tool.main(args, fetch=fetch) == 0
    out = capsys.readouterr().out
    assert "OK: entry 2" in out and "tree 7 extends tree 3" in out
    assert tool.main(["http://test", "--entry", "1", "--tree-size", "3"], fetch=fetch) == 0
    assert tool.main(["http://test"], fetch=fetch) == 0  # the latest head's signature
    assert tool.main(["http://test", "--key-id", "ab" * 32], fetch=fetch) == 1

    def forged_payload(path):
        data = fetch(path)
        if "/entries/" in path:
            data["payload"]["n"] = 42
        return data

    assert tool.main(["http://test", "--entry", "2"], fetch=forged_payload) == 1
    assert "leaf hash does not match" in capsys.readouterr().out

    def forged_path(path):
        data = fetch(path)
        if "/entries/" in path:
            data["inclusion"]["audit_path"][0] = "00" * 32
        if "consistency" in path:
            data["consistency_path"][-1] = "00" * 32
        return data

    assert tool.main(["http://test", "--entry", "2"], fetch=forged_path) == 1
    assert tool.main(["http://test", "--first", "3", "--second", "7"], fetch=forged_path) == 1

    # History rewritten after the first head: entry 1 changed (hashes recomputed), re-published.
    unguarded()
    row = db.session.get(LedgerEntry, 1)
    forged = '{"n":-1}'
    leaf = leaf_text(1, row.kind, row.time, forged)
    db.session.execute(text("UPDATE ledger_entry SET payload = :p, leaf_hash = :h "
                            "WHERE sequence = 1"),
                       {"p": forged, "h": merkle.leaf_hash(leaf.encode()).hex()})
    db.session.execute(text("DELETE FROM ledger_tree_head WHERE size = 7"))
    db.session.expire_all()
    publish()  # a fresh head over the rewritten history
    assert tool.main(["http://test", "--entry", "1", "--tree-size", "3"], fetch=fetch) == 1
    assert tool.main(["http://test", "--first", "3", "--second", "7"], fetch=fetch) == 1
    assert "does not link tree 3 to tree 7" in capsys.readouterr().out


def test_without_a_key_pages_still_answer(app, client, fill, monkeypatch):
    """Production without LEDGER_SIGNING_KEY: no key is made up; pages say so, nothing is signed."""
    monkeypatch.setitem(app.config, "LEDGER_KEY_AUTOGENERATE", False)
    monkeypatch.setattr(signing, "_cache", {})
    fill(1)
    assert 'data-testid="no-key"' in client.get("/ledger/key").get_data(as_text=True)
    assert client.get("/ledger/api/public-key.json").status_code == 503
    assert client.get("/ledger/").status_code == 200
    from market.ledger.jobs import publish_tree_head

    assert publish_tree_head.call_local() == 0
    result = app.test_cli_runner().invoke(args=["ledger", "publish"])
    assert result.exit_code == 1 and "LEDGER_SIGNING_KEY" in result.output


def test_entries_are_paged_newest_first(app, client, fill):
    size = app.config["PAGE_SIZE"]
    fill(size + 3)
    first = client.get("/ledger/").get_data(as_text=True)
    second = client.get("/ledger/?page=2").get_data(as_text=True)
    assert f'/ledger/entries/{size + 2}"' in first and 'href="/ledger/entries/3"' in first
    assert 'href="/ledger/entries/2"' not in first
    assert all(f'href="/ledger/entries/{n}"' in second for n in (0, 1, 2))
    assert f'href="/ledger/entries/{size + 2}"' not in second
    assert client.get("/ledger/?page=9").get_data(as_text=True).count("/ledger/entries/") == 3
