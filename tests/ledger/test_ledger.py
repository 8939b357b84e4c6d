"""Appending, publishing, stored proofs, the database's refusals, and tampering found by verify."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from market.extensions import db
from market.ledger import merkle, signing, store
from market.ledger.canonical import leaf_text
from market.ledger.jobs import publish_tree_head
from market.ledger.models import LedgerEntry, TreeHead
from market.ledger.operations import append, publish
from market.ledger.store import StoredTree
from market.ledger.verify import verify_ledger


def leaves():
    rows = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.sequence)).all()
    return [bytes.fromhex(e.leaf_hash) for e in rows]


def test_append_is_gapless_and_hashes_the_canonical_leaf(fill):
    entries = fill(3)
    assert [e.sequence for e in entries] == [0, 1, 2]
    e = entries[1]
    assert e.payload == '{"n":1,"name":"Тест «1»"}'
    assert e.created_at.microsecond == 0
    leaf = leaf_text(1, "org.verified", e.time, e.payload)
    assert leaf.startswith('{"kind":"org.verified","payload":{"n":1,')
    assert e.leaf_hash == merkle.leaf_hash(leaf.encode()).hex()
    with pytest.raises(ValueError, match="unknown"):
        append("no.such.kind", {})


def test_publish_signs_once_per_growth(fill):
    assert publish() is None  # empty ledger: nothing to sign
    fill(3)
    head = publish()
    assert head.size == 3 and head.root_hash == merkle.root_of(leaves()).hex()
    public = signing.public_key_bytes()
    assert head.key_id == signing.key_id(public)
    assert signing.check_signature(public, 3, head.root_hash, head.time, head.signature)
    assert not signing.check_signature(public, 4, head.root_hash, head.time, head.signature)
    assert publish() is None  # unchanged
    fill(2, start=3)
    assert publish().size == 5


def test_periodic_job_publishes_when_grown_and_not_when_unchanged(fill):
    fill(2)
    assert publish_tree_head.call_local() == 2
    assert publish_tree_head.call_local() == 0
    assert db.session.scalar(select(db.func.count(TreeHead.id))) == 1
    fill(1, start=2)
    assert publish_tree_head.call_local() == 3


def test_stored_proofs_match_the_definition_across_chunks(fill, monkeypatch):
    monkeypatch.setattr(store, "CHUNK", 4)
    fill(23)
    hashes = leaves()
    sub = merkle.list_subtree(hashes)
    for size in (1, 4, 5, 8, 16, 17, 23):
        tree = StoredTree(size)
        root = merkle.root_of(hashes[:size])
        assert tree.root() == root
        for i in range(size):
            assert tree.inclusion(i) == merkle.inclusion_proof(i, size, sub)
        for k in range(size + 1):
            assert tree.consistency(k) == merkle.consistency_proof(k, size, sub)


def test_chunk_cache_is_not_fooled_by_other_contents(fill, monkeypatch):
    """A cached chunk root is used only while its last leaf is the same (rolled-back data)."""
    monkeypatch.setattr(store, "CHUNK", 4)
    with db.session.begin_nested() as nested:
        fill(9)
        first = StoredTree(9).root()
        nested.rollback()
    fill(9, start=100)
    assert StoredTree(9).root() == merkle.root_of(leaves()) != first


@pytest.mark.parametrize("sql", ["UPDATE ledger_entry SET payload = '{}' WHERE sequence = 0",
                                 "DELETE FROM ledger_entry WHERE sequence = 0",
                                 "UPDATE ledger_tree_head SET size = 9",
                                 "DELETE FROM ledger_tree_head"])
def test_database_refuses_update_and_delete(fill, sql):
    fill(1)
    publish()
    db.session.flush()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text(sql))


def test_verify_passes_on_an_honest_ledger(app, fill):
    fill(5)
    publish()
    fill(3, start=5)
    publish()
    fill(1, start=8)
    # Quotes, a backslash, a tab and Kazakh letters survive the trip through the database.
    append("org.suspended", {"name": 'ТОО "Өскемен\\Құрылыс"\t', "reason": "қате"})
    publish()
    fill(1, start=9)  # not yet in a head
    report = verify_ledger(batch=3)
    assert report.ok and (report.entries, report.heads) == (11, 3)
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and "Ledger OK: 11 entries, 3 signed tree heads" in result.output


def _problem(app):
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    report = verify_ledger()
    assert not report.ok and str(report.problem) in result.output
    return report.problem


def test_changed_payload_is_found(app, fill, unguarded):
    fill(6)
    publish()
    unguarded()
    db.session.execute(text("UPDATE ledger_entry SET payload = :p WHERE sequence = 3"),
                       {"p": '{"n":99}'})
    problem = _problem(app)
    assert problem.sequence == 3 and "leaf hash" in problem.message


def test_rewritten_entry_with_a_recomputed_hash_breaks_the_signed_root(app, fill, unguarded):
    entries = fill(6)
    publish()
    unguarded()
    forged = '{"n":99}'
    leaf = leaf_text(2, "org.verified", entries[2].time, forged)
    db.session.execute(text("UPDATE ledger_entry SET payload = :p, leaf_hash = :h "
                            "WHERE sequence = 2"),
                       {"p": forged, "h": merkle.leaf_hash(leaf.encode()).hex()})
    problem = _problem(app)
    assert "root of the first 6 entries differs" in problem.message and "0..5" in problem.message


def test_swapped_order_is_found(app, fill, unguarded):
    fill(6)
    publish()
    unguarded()
    # Exchange entries 1 and 4 (each row keeps its own payload and leaf hash).
    db.session.execute(text("UPDATE ledger_entry SET sequence = 100 WHERE sequence = 1"))
    db.session.execute(text("UPDATE ledger_entry SET sequence = 1 WHERE sequence = 4"))
    db.session.execute(text("UPDATE ledger_entry SET sequence = 4 WHERE sequence = 100"))
    problem = _problem(app)
    assert problem.sequence == 1 and "leaf hash" in problem.message


def test_deleted_entry_is_found(app, fill, unguarded):
    fill(6)
    publish()
    unguarded()
    db.session.execute(text("DELETE FROM ledger_entry WHERE sequence = 2"))
    problem = _problem(app)
    assert problem.sequence == 2 and "missing" in problem.message


def test_deleted_tail_is_found(app, fill, unguarded):
    fill(6)
    publish()
    unguarded()
    db.session.execute(text("DELETE FROM ledger_entry WHERE sequence >= 4"))
    problem = _problem(app)
    assert problem.sequence == 4 and "size 6" in problem.message


def test_inserted_entry_is_found(app, fill, unguarded):
    entries = fill(6)
    publish()
    unguarded()
    # Make room at 3 and insert a well-formed entry there.
    for seq in range(5, 2, -1):
        db.session.execute(text("UPDATE ledger_entry SET sequence = :n WHERE sequence = :o"),
                           {"n": seq + 1, "o": seq})
    leaf = leaf_text(3, "org.verified", entries[3].time, '{"n":-1}')
    db.session.execute(text("INSERT INTO ledger_entry (sequence, created_at, kind, payload, "
                            "leaf_hash) SELECT 3, created_at, kind, :p, :h "
                            "FROM ledger_entry WHERE sequence = 0"),
                       {"p": '{"n":-1}', "h": merkle.leaf_hash(leaf.encode()).hex()})
    db.session.expire_all()
    problem = _problem(app)
    # The inserted row itself is consistent; the shifted one after it is not.
    assert problem.sequence == 4 and "leaf hash" in problem.message


def test_forged_signature_is_found(app, fill, unguarded):
    fill(3)
    head = publish()
    unguarded()
    db.session.execute(text("UPDATE ledger_tree_head SET signature = :s WHERE id = :i"),
                       {"s": "00" * 64, "i": head.id})
    assert "signature does not verify" in _problem(app).message


def test_signing_key_from_config_file_or_instance(app, monkeypatch, tmp_path):
    import base64
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = bytes(range(32))
    expected = signing.key_id(Ed25519PrivateKey.from_private_bytes(seed).public_key()
                              .public_bytes_raw())
    monkeypatch.setattr(signing, "_cache", {})
    monkeypatch.setitem(app.config, "LEDGER_SIGNING_KEY", base64.b64encode(seed).decode())
    assert signing.public_key_info()["key_id"] == expected
    key_file = tmp_path / "ledger.key"
    key_file.write_text(base64.b64encode(seed).decode() + "\n")
    monkeypatch.setitem(app.config, "LEDGER_SIGNING_KEY", str(key_file))
    assert signing.key_id(signing.public_key_bytes()) == expected
    monkeypatch.setitem(app.config, "LEDGER_SIGNING_KEY", "bm90IGEga2V5")  # 9 bytes
    with pytest.raises(signing.SigningKeyMissing):
        signing.private_key()
    monkeypatch.setitem(app.config, "LEDGER_SIGNING_KEY", None)
    signing.private_key()  # development / tests: made once in the instance folder
    path = Path(app.instance_path) / signing.KEY_FILE
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("block", [2, 4, 8])
def test_verify_in_aligned_blocks(app, fill, unguarded, monkeypatch, block):
    """The verifier hashes aligned blocks of leaves at once; heads inside or at the end of a
    block, and batches that split blocks, give the same answers."""
    from market.ledger import verify

    monkeypatch.setattr(verify, "BLOCK", block)
    for n in (5, 3, 8, 7):  # heads at 5, 8, 16, 23
        fill(n, start=verify_ledger().entries)
        publish()
    for batch in (3, 6, 16, 100):
        report = verify_ledger(batch=batch)
        assert report.ok and (report.entries, report.heads) == (23, 4)
    unguarded()
    db.session.execute(text("UPDATE ledger_entry SET payload = :p WHERE sequence = 13"),
                       {"p": '{"n":0}'})
    for batch in (3, 6, 16, 100):
        problem = verify_ledger(batch=batch).problem
        assert problem.sequence == 13 and "leaf hash" in problem.message


def test_an_entry_naming_a_deal_is_indexed_by_it(session):
    named = append("lot.awarded", {"deal": 7, "lot": {"id": 3}})
    nested = append("org.verified", {"organization": {"deal": 7}})
    flag = append("org.verified", {"deal": True})
    text_id = append("org.verified", {"deal": "7"})
    assert (named.deal_id, nested.deal_id, flag.deal_id, text_id.deal_id) == (7, None, None, None)
    assert verify_ledger().ok
