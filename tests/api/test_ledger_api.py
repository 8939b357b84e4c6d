"""API v1 public ledger: an entry with its inclusion proof, the latest tree head, consistency
proofs; public (a bad token still 401), JSON errors for bad or unknown sizes and entries."""

from __future__ import annotations

import pytest

from market.ledger import merkle
from market.ledger.operations import append, publish


def fill(n: int, start: int = 0):
    return [append("org.verified", {"n": start + i, "name": f"Тест «{start + i}»"}) for i in range(n)]


def test_entry_with_its_inclusion_proof_without_a_token(api):
    entries = fill(5)
    head = publish()
    r = api.get(f"/api/v1/ledger/entries/{entries[3].sequence}")
    assert r.status_code == 200, r.json
    data = r.json
    assert data["sequence"] == entries[3].sequence and data["kind"] == "org.verified"
    assert data["payload"] == {"n": 3, "name": "Тест «3»"}
    assert data["leaf_hash"] == entries[3].leaf_hash
    assert data["tree_head"]["tree_size"] == head.size == 5
    proof = data["inclusion"]
    assert proof["leaf_index"] == 3 and proof["tree_size"] == 5
    merkle.verify_inclusion(3, 5, bytes.fromhex(data["leaf_hash"]),
                            [bytes.fromhex(h) for h in proof["audit_path"]],
                            bytes.fromhex(data["tree_head"]["root_hash"]))


def test_entry_in_an_older_head_and_before_any_head(api):
    (first,) = fill(1)
    r = api.get(f"/api/v1/ledger/entries/{first.sequence}")
    assert r.status_code == 200 and r.json["tree_head"] is None and r.json["inclusion"] is None
    publish()
    later = fill(2, start=1)
    publish()
    r = api.get(f"/api/v1/ledger/entries/{first.sequence}?tree_size=1")
    assert r.status_code == 200 and r.json["inclusion"]["tree_size"] == 1
    r = api.get(f"/api/v1/ledger/entries/{later[1].sequence}?tree_size=1")
    assert r.status_code == 200 and r.json["inclusion"] is None  # not in that head yet
    assert api.get(f"/api/v1/ledger/entries/{first.sequence}?tree_size=2").status_code == 404


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "9" * 30, ""])
def test_bad_tree_size_is_422(api, value):
    fill(1)
    r = api.get(f"/api/v1/ledger/entries/0?tree_size={value}")
    assert r.status_code == 422 and "tree_size" in r.json["errors"]["query"]


@pytest.mark.parametrize("sequence", ["7", "9" * 25])
def test_unknown_entry_is_404(api, sequence):
    fill(2)
    r = api.get(f"/api/v1/ledger/entries/{sequence}", lang="en")
    assert r.status_code == 404 and r.json["code"] == 404 and r.json["message"]


def test_tree_head(api):
    r = api.get("/api/v1/ledger/tree-head")
    assert r.status_code == 404 and r.json["message"]
    fill(3)
    head = publish()
    r = api.get("/api/v1/ledger/tree-head")
    assert r.status_code == 200
    assert r.json["tree_size"] == 3 and r.json["root_hash"] == head.root_hash
    assert r.json["signature"] == head.signature and r.json["key_id"] == head.key_id


def test_consistency(api):
    fill(3)
    old = publish()
    fill(4, start=3)
    new = publish()
    r = api.get(f"/api/v1/ledger/consistency?first={old.size}&second={new.size}")
    assert r.status_code == 200, r.json
    assert r.json["first"]["tree_size"] == 3 and r.json["second"]["tree_size"] == 7
    merkle.verify_consistency(3, 7, bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash),
                              [bytes.fromhex(h) for h in r.json["consistency_path"]])


@pytest.mark.parametrize(("query", "status", "field"), [
    ("", 422, "first"), ("first=3", 422, "second"), ("first=x&second=7", 422, "first"),
    ("first=7&second=3", 422, "first"), ("first=0&second=3", 422, "first"),
    ("first=3&second=99999999999999999999999", 422, "second"),
    ("first=2&second=7", 404, None), ("first=3&second=5", 404, None),
])
def test_consistency_refuses(api, query, status, field):
    fill(3)
    publish()
    fill(4, start=3)
    publish()
    r = api.get(f"/api/v1/ledger/consistency?{query}")
    assert r.status_code == status, r.json
    if field:
        assert field in r.json["errors"]["query"]


def test_a_bad_token_is_refused_even_here(api):
    fill(1)
    publish()
    assert api.get("/api/v1/ledger/tree-head", token="qdq_nonsense").status_code == 401
    r = api.get("/api/v1/ledger/tree-head", headers={"Authorization": "Basic x"})
    assert r.status_code == 401


def test_a_token_is_fine(api, token):
    fill(1)
    publish()
    assert api.get("/api/v1/ledger/tree-head", token=token).status_code == 200
