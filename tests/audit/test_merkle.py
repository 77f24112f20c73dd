"""The audit log's Merkle tree: RFC 6962 / RFC 9162 hashes, proofs and proof verification.

Three kinds of evidence: the published RFC 6962 test vectors (so our roots and proofs are the
ones every other Certificate Transparency implementation computes), a naive recursive reference
written straight from the RFC text (compared against the cached tree on random sizes), and
tampered proofs, which must all be rejected with a ProofError saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit import merkle
from gateway.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# --- Published RFC 6962 test vectors, as used by CT implementations ------------------------------
# The eight leaf inputs below, the Merkle Tree Hash of the first n of them for n = 0..8, and the
# audit paths and consistency proofs are the well-known RFC 6962 test vectors that Certificate
# Transparency implementations (the original CT log code, Trillian, transparency-dev/merkle, ...)
# check themselves against. They are transcribed here as data; indices are 0-based.


def h(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)


VECTOR_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
VECTOR_LEAVES = [leaf_hash(data) for data in VECTOR_INPUTS]
VECTOR_ROOTS = [  # index n: the root of the tree of the first n leaves
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
VECTOR_INCLUSION_PROOFS = [  # (leaf index, tree size, audit path)
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
VECTOR_CONSISTENCY_PROOFS = [  # (old size, new size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

# --- A naive reference, straight from the recursive definitions in RFC 9162 section 2.1 ----------
# D is a list of leaf hashes, so MTH({d0}) is d0 itself.


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return d[0]
    k = largest_power_of_two_below(len(d))
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = largest_power_of_two_below(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = largest_power_of_two_below(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True) if 0 < m < len(d) else []


MAX_SIZE = 300
LEAVES = [leaf_hash(b"audit record %d" % i) for i in range(MAX_SIZE)]
TREE = MerkleTree.from_leaf_hashes(LEAVES)  # every size up to MAX_SIZE is a historical size


def tree_of(size: int) -> MerkleTree:
    return MerkleTree.from_leaf_hashes(LEAVES[:size])


# --- Hashing and the published vectors ----------------------------------------------------------


def test_hashes_are_domain_separated_sha256() -> None:
    assert VECTOR_ROOTS[0] == EMPTY_ROOT
    assert leaf_hash(b"") == VECTOR_ROOTS[1]
    assert node_hash(VECTOR_LEAVES[0], VECTOR_LEAVES[1]) == VECTOR_ROOTS[2]


def test_roots_match_the_published_vectors_for_every_size() -> None:
    tree = MerkleTree()
    assert tree.root() == VECTOR_ROOTS[0]
    for leaf in VECTOR_LEAVES:
        tree.append(leaf)
        assert tree.root() == VECTOR_ROOTS[tree.size]
    assert [tree.root(size) for size in range(9)] == VECTOR_ROOTS


@pytest.mark.parametrize(("index", "size", "proof"), VECTOR_INCLUSION_PROOFS)
def test_inclusion_proofs_match_the_published_vectors(
    index: int, size: int, proof: list[bytes]
) -> None:
    tree = MerkleTree.from_leaf_hashes(VECTOR_LEAVES)
    assert tree.inclusion_proof(index, size) == proof
    verify_inclusion(VECTOR_LEAVES[index], index, size, proof, VECTOR_ROOTS[size])


@pytest.mark.parametrize(("old_size", "new_size", "proof"), VECTOR_CONSISTENCY_PROOFS)
def test_consistency_proofs_match_the_published_vectors(
    old_size: int, new_size: int, proof: list[bytes]
) -> None:
    tree = MerkleTree.from_leaf_hashes(VECTOR_LEAVES)
    assert tree.consistency_proof(old_size, new_size) == proof
    old_root, new_root = VECTOR_ROOTS[old_size], VECTOR_ROOTS[new_size]
    verify_consistency(old_size, new_size, old_root, new_root, proof)


# --- The tree against the reference -------------------------------------------------------------


def test_append_returns_indices_and_leaves_read_back() -> None:
    tree = MerkleTree()
    assert [tree.append(leaf) for leaf in LEAVES[:5]] == [0, 1, 2, 3, 4]
    assert tree.size == 5
    assert [tree.leaf(i) for i in range(5)] == LEAVES[:5]


def test_every_small_tree_agrees_with_the_reference_exhaustively() -> None:
    for new_size in range(34):
        leaves = LEAVES[:new_size]
        assert TREE.root(new_size) == ref_mth(leaves)
        for index in range(new_size):
            proof = TREE.inclusion_proof(index, new_size)
            assert proof == ref_path(index, leaves)
            verify_inclusion(LEAVES[index], index, new_size, proof, ref_mth(leaves))
        for old_size in range(new_size + 1):
            proof = TREE.consistency_proof(old_size, new_size)
            assert proof == ref_proof(old_size, leaves)
            verify_consistency(
                old_size, new_size, ref_mth(LEAVES[:old_size]), ref_mth(leaves), proof
            )


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_appending_keeps_the_root_equal_to_the_reference(entries: list[bytes]) -> None:
    tree = MerkleTree()
    hashed: list[bytes] = []
    for entry in entries:
        hashed.append(leaf_hash(entry))
        tree.append(hashed[-1])
        assert tree.root() == ref_mth(hashed)
    assert tree.size == len(entries)


@given(st.integers(0, MAX_SIZE))
def test_historical_and_fresh_roots_equal_the_reference(size: int) -> None:
    expected = ref_mth(LEAVES[:size])
    assert TREE.root(size) == expected
    assert tree_of(size).root() == expected


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(0, size - 1)), size


@st.composite
def old_and_new_size(draw: st.DrawFn) -> tuple[int, int]:
    new_size = draw(st.integers(0, MAX_SIZE))
    return draw(st.integers(0, new_size)), new_size


@given(index_and_size())
def test_inclusion_proofs_equal_the_reference_and_verify(case: tuple[int, int]) -> None:
    index, size = case
    proof = TREE.inclusion_proof(index, size)
    assert proof == ref_path(index, LEAVES[:size])
    assert tree_of(size).inclusion_proof(index, size) == proof
    verify_inclusion(LEAVES[index], index, size, proof, ref_mth(LEAVES[:size]))


@given(old_and_new_size())
def test_consistency_proofs_equal_the_reference_and_verify(case: tuple[int, int]) -> None:
    old_size, new_size = case
    proof = TREE.consistency_proof(old_size, new_size)
    assert proof == ref_proof(old_size, LEAVES[:new_size])
    assert tree_of(new_size).consistency_proof(old_size, new_size) == proof
    old_root, new_root = ref_mth(LEAVES[:old_size]), ref_mth(LEAVES[:new_size])
    verify_consistency(old_size, new_size, old_root, new_root, proof)


# --- Tampered proofs are rejected ---------------------------------------------------------------

hashes = st.binary(min_size=32, max_size=32)


def proves(index: int, size: int, proof: list[bytes]) -> bool:
    """Whether ``proof`` is the genuine audit path of leaf ``index`` in the tree of ``size``."""
    return 0 <= index < size and TREE.inclusion_proof(index, size) == proof


def links(old_size: int, new_size: int, proof: list[bytes]) -> bool:
    """Whether ``proof`` is the genuine consistency proof from ``old_size`` to ``new_size``."""
    return old_size <= new_size and TREE.consistency_proof(old_size, new_size) == proof


def flip_a_byte(data: st.DataObject, proof: list[bytes]) -> list[bytes]:
    position = data.draw(st.integers(0, len(proof) - 1))
    offset = data.draw(st.integers(0, 31))
    bit = data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]))
    altered = bytearray(proof[position])
    altered[offset] ^= bit
    return [*proof[:position], bytes(altered), *proof[position + 1 :]]


def add_a_hash(data: st.DataObject, proof: list[bytes]) -> list[bytes]:
    position = data.draw(st.integers(0, len(proof)))
    return [*proof[:position], data.draw(hashes), *proof[position:]]


def drop_a_hash(data: st.DataObject, proof: list[bytes]) -> list[bytes]:
    position = data.draw(st.integers(0, len(proof) - 1))
    return [*proof[:position], *proof[position + 1 :]]


@given(st.data(), index_and_size())
def test_any_altered_inclusion_proof_is_rejected(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    index, size = case
    leaf, proof, root = LEAVES[index], TREE.inclusion_proof(index, size), TREE.root(size)
    draw = data.draw
    alterations: list[str] = ["add a hash", "wrong index", "wrong size", "wrong root", "wrong leaf"]
    if proof:
        alterations += ["flip a byte", "drop a hash"]
    alteration = draw(st.sampled_from(alterations))
    if alteration == "flip a byte":
        proof = flip_a_byte(data, proof)
    elif alteration == "drop a hash":
        proof = drop_a_hash(data, proof)
    elif alteration == "add a hash":
        proof = add_a_hash(data, proof)
    elif alteration == "wrong index":  # may fall outside the tree
        index = draw(st.integers(-1, size).filter(lambda i: i != index))
    elif alteration == "wrong size":  # with that size's root; any size the proof is not for
        size = draw(st.integers(0, MAX_SIZE).filter(lambda s: not proves(index, s, proof)))
        root = TREE.root(size)
    elif alteration == "wrong root":
        root = draw(hashes.filter(lambda r: r != root))
    else:
        leaf = draw(hashes.filter(lambda r: r != leaf))
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, root)


@given(st.data(), old_and_new_size())
def test_any_altered_consistency_proof_is_rejected(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    old_size, new_size = case
    proof = TREE.consistency_proof(old_size, new_size)
    old_root, new_root = TREE.root(old_size), TREE.root(new_size)
    draw = data.draw
    alterations: list[str] = ["add a hash", "wrong old size", "wrong old root"]
    if proof:
        alterations += ["flip a byte", "drop a hash", "swap the roots"]
    if old_size > 0:  # every tree is consistent with the empty tree, whatever its size and root
        alterations += ["wrong new size", "wrong new root"]
    alteration = draw(st.sampled_from(alterations))
    if alteration == "flip a byte":
        proof = flip_a_byte(data, proof)
    elif alteration == "drop a hash":
        proof = drop_a_hash(data, proof)
    elif alteration == "add a hash":
        proof = add_a_hash(data, proof)
    elif alteration == "wrong old size":  # not 0: from the empty tree, anything is consistent
        old_size = draw(st.integers(1, MAX_SIZE).filter(lambda s: not links(s, new_size, proof)))
        old_root = TREE.root(old_size)
    elif alteration == "wrong new size":
        new_size = draw(st.integers(0, MAX_SIZE).filter(lambda s: not links(old_size, s, proof)))
        new_root = TREE.root(new_size)
    elif alteration == "wrong old root":
        old_root = draw(hashes.filter(lambda r: r != old_root))
    elif alteration == "wrong new root":
        new_root = draw(hashes.filter(lambda r: r != new_root))
    else:
        old_root, new_root = new_root, old_root
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, old_root, new_root, proof)


def test_the_tree_size_is_vouched_for_by_the_root_not_by_the_proof() -> None:
    # A known property of the RFC algorithm, not a bug: the audit path of leaf 0 in a tree of 3
    # has the same shape as in a tree of 4, so it also "verifies" for size 4 against the size-3
    # root. Callers must take the size and the root together from one signed tree head.
    proof = TREE.inclusion_proof(0, 3)
    verify_inclusion(LEAVES[0], 0, 4, proof, TREE.root(3))
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[0], 0, 4, proof, TREE.root(4))


# --- Costs: counted hashes, not timings ---------------------------------------------------------


def test_costs_are_logarithmic_in_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real_node_hash = merkle.node_hash

    def counting_node_hash(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real_node_hash(left, right)

    def hashes_for(operation: Callable[[], object]) -> int:
        nonlocal calls
        calls = 0
        operation()
        return calls

    monkeypatch.setattr(merkle, "node_hash", counting_node_hash)
    tree = MerkleTree()
    size = 5000  # log2 < 13
    assert hashes_for(lambda: [tree.append(leaf_hash(b"%d" % i)) for i in range(size)]) < size
    assert hashes_for(lambda: tree.root(size)) < 13
    assert hashes_for(lambda: tree.root(4097)) == 1
    probes = [*range(1, size, 97), 4095, 4096, 4097, size - 1]
    assert max(hashes_for(partial(tree.inclusion_proof, i, size)) for i in probes) <= 13 * 13
    assert max(hashes_for(partial(tree.consistency_proof, m, size)) for m in probes) <= 13 * 13


# --- Errors: type and message -------------------------------------------------------------------

FIVE = MerkleTree.from_leaf_hashes(LEAVES[:5])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        pytest.param(
            lambda: FIVE.inclusion_proof(5, 5),
            ValueError,
            "leaf index 5 is out of range for tree size 5",
            id="an inclusion proof for an index equal to the size is refused",
        ),
        pytest.param(
            lambda: FIVE.inclusion_proof(-1, 5),
            ValueError,
            "leaf index -1 is out of range for tree size 5",
            id="an inclusion proof for a negative index is refused",
        ),
        pytest.param(
            lambda: FIVE.inclusion_proof(0, 0),
            ValueError,
            "leaf index 0 is out of range for tree size 0",
            id="the empty tree has no inclusion proofs",
        ),
        pytest.param(
            lambda: FIVE.inclusion_proof(0, 6),
            ValueError,
            "size 6 is not between 0 and the tree size 5",
            id="an inclusion proof in a tree larger than this one is refused",
        ),
        pytest.param(
            lambda: FIVE.consistency_proof(3, 6),
            ValueError,
            "new size 6 is not between 0 and the tree size 5",
            id="a consistency proof to a size larger than the tree is refused",
        ),
        pytest.param(
            lambda: FIVE.consistency_proof(4, 3),
            ValueError,
            "old size 4 is not between 0 and new size 3",
            id="a consistency proof from a larger size to a smaller one is refused",
        ),
        pytest.param(
            lambda: FIVE.consistency_proof(-1, 3),
            ValueError,
            "old size -1 is not between 0 and new size 3",
            id="a consistency proof from a negative size is refused",
        ),
        pytest.param(
            lambda: FIVE.root(6),
            ValueError,
            "size 6 is not between 0 and the tree size 5",
            id="the root of a size the tree has not reached is refused",
        ),
        pytest.param(
            lambda: FIVE.root(-1),
            ValueError,
            "size -1 is not between 0 and the tree size 5",
            id="the root of a negative size is refused",
        ),
        pytest.param(
            lambda: FIVE.leaf(5),
            IndexError,
            "leaf index 5 is out of range for tree size 5",
            id="reading a leaf past the end is an index error",
        ),
        pytest.param(
            lambda: MerkleTree().append(b"not a hash"),
            ValueError,
            "a leaf hash is 32 bytes, got 10",
            id="appending something that is not a 32-byte hash is refused",
        ),
    ],
)
def test_invalid_arguments_are_refused_with_the_values_named(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message
    assert not isinstance(caught.value, ProofError)


R = VECTOR_ROOTS
L = VECTOR_LEAVES
P = {(old, new): proof for old, new, proof in VECTOR_CONSISTENCY_PROOFS}
A = {(index, size): proof for index, size, proof in VECTOR_INCLUSION_PROOFS}
# Leaf 1 hashed up the audit path of leaf 0: every sibling goes on the right.
ROOT_WITH_LEAF_1_AT_0 = node_hash(node_hash(node_hash(L[1], A[0, 8][0]), A[0, 8][1]), A[0, 8][2])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda: verify_inclusion(L[0], 8, 8, A[0, 8], R[8]),
            "inclusion proof: leaf index 8 is out of range for size 8",
            id="an inclusion proof for an index equal to the size fails",
        ),
        pytest.param(
            lambda: verify_inclusion(L[0], 0, 0, [], R[0]),
            "inclusion proof: leaf index 0 is out of range for size 0",
            id="nothing is included in the empty tree",
        ),
        pytest.param(
            lambda: verify_inclusion(L[0], 0, 8, [*A[0, 8], R[8]], R[8]),
            "inclusion proof: wrong number of hashes: expected 3, found 4",
            id="an inclusion proof with an extra hash fails on its length",
        ),
        pytest.param(
            lambda: verify_inclusion(L[5], 5, 8, A[5, 8][:2], R[8]),
            "inclusion proof: wrong number of hashes: expected 3, found 2",
            id="a truncated inclusion proof fails on its length",
        ),
        pytest.param(
            lambda: verify_inclusion(L[1], 0, 8, A[0, 8], R[8]),
            f"inclusion proof: computed root {ROOT_WITH_LEAF_1_AT_0.hex()} does not match"
            f" expected {R[8].hex()}",
            id="an inclusion proof for another leaf computes another root",
        ),
        pytest.param(
            lambda: verify_inclusion(L[0], 0, 1, [], R[2]),
            f"inclusion proof: computed root {L[0].hex()} does not match expected {R[2].hex()}",
            id="a single leaf is its own root and must match",
        ),
        pytest.param(
            lambda: verify_consistency(6, 5, R[6], R[5], []),
            "consistency proof: sizes out of order: old size 6, new size 5",
            id="a consistency proof from a larger size to a smaller one fails",
        ),
        pytest.param(
            lambda: verify_consistency(-1, 5, R[0], R[5], []),
            "consistency proof: sizes out of order: old size -1, new size 5",
            id="a consistency proof from a negative size fails",
        ),
        pytest.param(
            lambda: verify_consistency(0, 5, R[0], R[5], [R[1]]),
            "consistency proof: wrong number of hashes: expected 0, found 1",
            id="a consistency proof from the empty tree must be empty",
        ),
        pytest.param(
            lambda: verify_consistency(0, 5, R[1], R[5], []),
            f"consistency proof: old root {R[1].hex()} of size 0 is not the empty-tree root"
            f" {R[0].hex()}",
            id="the old root of the empty tree must be the empty-tree root",
        ),
        pytest.param(
            lambda: verify_consistency(5, 5, R[5], R[5], [R[1]]),
            "consistency proof: wrong number of hashes: expected 0, found 1",
            id="a consistency proof between equal sizes must be empty",
        ),
        pytest.param(
            lambda: verify_consistency(5, 5, R[5], R[4], []),
            f"consistency proof: both trees have size 5 but their roots differ: old {R[5].hex()},"
            f" new {R[4].hex()}",
            id="trees of equal size must have equal roots",
        ),
        pytest.param(
            lambda: verify_consistency(1, 2, R[1], R[2], []),
            "consistency proof: wrong number of hashes: expected 1, found 0",
            id="an empty consistency proof between different sizes fails on its length",
        ),
        pytest.param(
            lambda: verify_consistency(6, 8, R[6], R[8], [*P[6, 8], R[1]]),
            "consistency proof: wrong number of hashes: expected 3, found 4",
            id="a consistency proof with an extra hash fails on its length",
        ),
        pytest.param(
            lambda: verify_consistency(6, 8, R[5], R[8], P[6, 8]),
            f"consistency proof: computed old root {R[6].hex()} does not match expected"
            f" {R[5].hex()}",
            id="a consistency proof from another old root fails on the old root",
        ),
        pytest.param(
            lambda: verify_consistency(2, 5, R[2], R[4], P[2, 5]),
            f"consistency proof: computed new root {R[5].hex()} does not match expected"
            f" {R[4].hex()}",
            id="a consistency proof to another new root fails on the new root",
        ),
    ],
)
def test_invalid_proofs_fail_with_a_factual_message(call: Callable[[], None], message: str) -> None:
    with pytest.raises(ProofError) as caught:
        call()
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)
