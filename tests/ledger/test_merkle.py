"""RFC 6962 hashing, proofs and verifiers: known answers from a reference implementation, then
every size and index up to 40 against the definition, and corrupted proofs that must fail."""

from __future__ import annotations

import pytest

from market.ledger import merkle as m
from market.ledger.canonical import NotCanonical, canonical_json, leaf_text

# Test data of transparency-dev/merkle (Apache-2.0), typed in from
# github.com/transparency-dev/merkle testonly/constants.go (LeafInputs, RootHashes,
# NodeHashes) and proof/verify_test.go (inclusionProofs, consistencyProofs; leaf numbers there
# are 1-based, here they are 0-based indices).
LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
          "606162636465666768696a6b6c6d6e6f"]
ROOTS = [  # by tree size 0..8
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAF_HASHES = [  # NodeHashes level 0
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]
INCLUSION = [  # (index, size, audit path)
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [  # (first, second, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]

HASHES = [m.leaf_hash(bytes.fromhex(x)) for x in LEAVES]
SUB = m.list_subtree(HASHES)
H = bytes.fromhex


def test_leaf_hashes_and_roots_of_every_size():
    assert [h.hex() for h in HASHES] == LEAF_HASHES
    assert [m.root_of(HASHES[:n]).hex() for n in range(9)] == ROOTS


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_known_answers(index, size, path):
    assert [h.hex() for h in m.inclusion_proof(index, size, SUB)] == path
    m.verify_inclusion(index, size, HASHES[index], [H(p) for p in path], H(ROOTS[size]))


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_known_answers(first, second, path):
    assert [h.hex() for h in m.consistency_proof(first, second, SUB)] == path
    m.verify_consistency(first, second, H(ROOTS[first]), H(ROOTS[second]), [H(p) for p in path])


def _corrupt(path):
    """Variants of a proof that must never verify (after the reference's corruptions)."""
    yield [*path, bytes(32)]
    yield [bytes(32), *path]
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([path[i][0] ^ 8]) + path[i][1:]
        yield flipped
    if path:
        yield path[:-1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION[1:])
def test_corrupted_inclusion_proofs_fail(index, size, path):
    path, root, leaf = [H(p) for p in path], H(ROOTS[size]), HASHES[index]
    bad = [(index + 1, size, leaf, path, root), (index ^ 2, size, leaf, path, root),
           (index, size * 2, leaf, path, root), (index, size, HASHES[index - 1], path, root),
           (index, size, leaf, path, H(ROOTS[0]))]
    bad += [(index, size, leaf, p, root) for p in _corrupt(path)]
    for args in bad:
        with pytest.raises(m.ProofError):
            m.verify_inclusion(*args)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY[1:])
def test_corrupted_consistency_proofs_fail(first, second, path):
    path, r1, r2 = [H(p) for p in path], H(ROOTS[first]), H(ROOTS[second])
    bad = [(first - 1, second, r1, r2, path), (first + 1, second, r1, r2, path),
           (first, second * 2, r1, r2, path), (first, second, r2, r1, path),
           (first, second, H(ROOTS[0]), r2, path), (first, second, r1, r2, [])]
    bad += [(first, second, r1, r2, p) for p in _corrupt(path)]
    for args in bad:
        with pytest.raises(m.ProofError):
            m.verify_consistency(*args)


def test_every_proof_up_to_40_leaves():
    hashes = [m.leaf_hash(str(i).encode()) for i in range(40)]
    sub = m.list_subtree(hashes)
    roots = [m.root_of(hashes[:n]) for n in range(41)]
    for n in range(1, 41):
        for i in range(n):
            m.verify_inclusion(i, n, hashes[i], m.inclusion_proof(i, n, sub), roots[n])
        for k in range(n + 1):
            m.verify_consistency(k, n, roots[k], roots[n], m.consistency_proof(k, n, sub))


def test_compact_tree_matches_the_recursive_definition():
    hashes = [m.leaf_hash(bytes([i])) for i in range(33)]

    def mth(d):
        if not d:
            return m.EMPTY_ROOT
        if len(d) == 1:
            return d[0]
        k = m.split_point(len(d))
        return m.node_hash(mth(d[:k]), mth(d[k:]))

    tree = m.CompactTree()
    for n, h in enumerate(hashes, 1):
        tree.append(h)
        assert tree.root() == mth(hashes[:n])


def test_canonical_json():
    from decimal import Decimal

    assert canonical_json({"b": 1, "a": ["ё", Decimal("1.500")], "c": None}) == \
        '{"a":["ё","1.500"],"b":1,"c":null}'
    for bad in ({"x": 1.5}, {1: "x"}, {"x": object()}):
        with pytest.raises(NotCanonical):
            canonical_json(bad)
    payload = canonical_json({"z": 1, "a": "Ә"})
    assert leaf_text(7, "org.verified", 1700000000, payload) == canonical_json(
        {"sequence": 7, "kind": "org.verified", "time": 1700000000, "payload": {"z": 1, "a": "Ә"}})
