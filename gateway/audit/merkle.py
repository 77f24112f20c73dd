"""Append-only Merkle tree for the audit log, as specified in RFC 6962 / RFC 9162 section 2.1.

Every audit record is committed to by its *leaf hash* ``SHA-256(0x00 || data)``; interior nodes
are ``SHA-256(0x01 || left || right)``; the different prefixes keep a leaf from ever being
mistaken for a node (second-preimage resistance). The Merkle Tree Hash of ``n > 1`` leaves splits
them at ``k``, the largest power of two smaller than ``n``: ``MTH(D[n]) = node_hash(MTH(D[0:k]),
MTH(D[k:n]))``; the hash of one leaf is its leaf hash, and of no leaves ``SHA-256(b"")``.

Because every split point is a power of two, every left-hand subtree is *perfect*: it holds
``2**level`` leaves starting at a multiple of ``2**level``. :class:`MerkleTree` keeps the hash of
every complete perfect subtree, level by level (level 0 being the leaf hashes), so the hash of
any range the RFC algorithms ask for is a fold of at most ``log2(n)`` cached nodes. That makes
``append`` amortised O(1) hashes, ``root(size)`` O(log n) hashes for any historical size, and
inclusion (RFC 9162 §2.1.3.1, PATH) and consistency (§2.1.4.1, SUBPROOF) proofs O(log n) look-ups
plus at most O(log² n) hashes. The proofs are byte-identical to those of other CT logs.

:func:`verify_inclusion` and :func:`verify_consistency` implement RFC 9162 §2.1.3.2 and §2.1.4.2.
The RFC's loops fail when the proof runs out or runs over; here the exact expected number of
hashes is computed from the sizes first, which accepts exactly the same proofs and gives a clearer
error. Two cases the RFC leaves out are pinned down: a proof between equal sizes is empty and the
roots must be equal, and a proof from the empty tree is empty and the old root must be
``EMPTY_ROOT``. Invalid proofs raise :class:`ProofError`; valid ones return ``None``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Self

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The Merkle Tree Hash of the empty tree: SHA-256 of the empty string."""


class ProofError(ValueError):
    """An inclusion or consistency proof does not prove what it was claimed to prove."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (for ``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _path_length(fn: int, sn: int) -> int:
    """How many hashes the RFC 9162 verification loop consumes from ``fn``/``sn`` to the root."""
    inner = (fn ^ sn).bit_length()
    return inner + (fn >> inner).bit_count()


class MerkleTree:
    """An append-only RFC 6962 Merkle tree of leaf hashes, with cached perfect subtrees."""

    __slots__ = ("_levels", "_size")

    def __init__(self) -> None:
        # _levels[h] holds, back to back, the hash of every complete perfect subtree of 2**h
        # leaves, in order: the subtree covering leaves [i * 2**h, (i + 1) * 2**h) is entry i.
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> Self:
        """Build a tree by appending each leaf hash in order."""
        tree = cls()
        for hashed in leaf_hashes:
            tree.append(hashed)
        return tree

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``; raises ``IndexError`` outside ``0 <= index < size``."""
        if not 0 <= index < self._size:
            raise IndexError(f"leaf index {index} is out of range for tree size {self._size}")
        return self._node(0, index)

    def append(self, leaf_hash: bytes) -> int:
        """Append a leaf hash (see :func:`leaf_hash`) and return its index."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf_hash)}")
        index = self._size
        self._levels[0] += leaf_hash
        self._size += 1
        node, level, position = bytes(leaf_hash), 0, index
        while position & 1:  # a right child completes its parent
            node = node_hash(self._node(level, position - 1), node)
            level, position = level + 1, position >> 1
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += node
        return index

    def root(self, size: int | None = None) -> bytes:
        """The Merkle Tree Hash of the first ``size`` leaves (default: all of them)."""
        if size is None:
            size = self._size
        self._check_size("size", size)
        return self._range_hash(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The audit path (RFC 9162 PATH) of leaf ``index`` in the tree of the first ``size``."""
        self._check_size("size", size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is out of range for tree size {size}")
        proof: list[bytes] = []
        start, m, n = 0, index, size
        while n > 1:
            k = _split(n)
            if m < k:
                proof.append(self._range_hash(start + k, start + n))
                n = k
            else:
                proof.append(self._range_hash(start, start + k))
                start, m, n = start + k, m - k, n - k
        proof.reverse()  # PATH lists the siblings from the leaf up
        return proof

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The RFC 9162 consistency proof (SUBPROOF) from tree size ``old_size`` to ``new_size``.

        Empty when ``old_size`` is 0 or equal to ``new_size``.
        """
        self._check_size("new size", new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old size {old_size} is not between 0 and new size {new_size}")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        start, m, n, old_tree_is_a_subtree = 0, old_size, new_size, True
        while m != n:
            k = _split(n)
            if m <= k:
                proof.append(self._range_hash(start + k, start + n))
                n = k
            else:
                proof.append(self._range_hash(start, start + k))
                start, m, n, old_tree_is_a_subtree = start + k, m - k, n - k, False
        if not old_tree_is_a_subtree:  # SUBPROOF(m, D[m], false) = [MTH(D[m])]
            proof.append(self._range_hash(start, start + n))
        proof.reverse()
        return proof

    def _check_size(self, name: str, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ValueError(f"{name} {size} is not between 0 and the tree size {self._size}")

    def _node(self, level: int, position: int) -> bytes:
        offset = position * HASH_SIZE
        return bytes(self._levels[level][offset : offset + HASH_SIZE])

    def _range_hash(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end), for non-empty ranges whose ``start`` is a multiple of
        every power of two up to ``end - start`` (true of every range the RFC recursion visits).
        The range is the perfect subtrees given by the binary digits of its length, largest
        first, and the MTH folds them from the right."""
        nodes: list[bytes] = []
        while start < end:
            level = (end - start).bit_length() - 1
            nodes.append(self._node(level, start >> level))
            start += 1 << level
        result = nodes.pop()
        while nodes:
            result = node_hash(nodes.pop(), result)
        return result


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` shows ``leaf_hash`` at ``index`` in the tree of ``size`` with ``root``.

    RFC 9162 §2.1.3.2. Returns ``None`` if it does; raises :class:`ProofError` otherwise.
    """
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: leaf index {index} is out of range for size {size}")
    fn, sn = index, size - 1
    _check_length("inclusion proof", _path_length(fn, sn), proof)
    result = leaf_hash
    for sibling in proof:
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    _check_root("inclusion proof: computed root", result, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that ``proof`` shows the tree (``new_size``, ``new_root``) extends (``old_size``,
    ``old_root``).

    RFC 9162 §2.1.4.2. Returns ``None`` if it does; raises :class:`ProofError` otherwise.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(
            f"consistency proof: sizes out of order: old size {old_size}, new size {new_size}"
        )
    if old_size in (0, new_size):
        _check_length("consistency proof", 0, proof)
        if old_size == 0 and not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise ProofError(
                f"consistency proof: old root {old_root.hex()} of size 0 is not the empty-tree"
                f" root {EMPTY_ROOT.hex()}"
            )
        if old_size == new_size and not hmac.compare_digest(old_root, new_root):
            raise ProofError(
                f"consistency proof: both trees have size {old_size} but their roots differ:"
                f" old {old_root.hex()}, new {new_root.hex()}"
            )
        return
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # The RFC prepends old_root when old_size is a power of two: the old tree is then a
    # perfect subtree and its root is the first node of the path rather than part of the proof.
    if old_size & (old_size - 1) == 0:
        _check_length("consistency proof", _path_length(fn, sn), proof)
        path = [old_root, *proof]
    else:
        _check_length("consistency proof", _path_length(fn, sn) + 1, proof)
        path = list(proof)
    old_result = new_result = path[0]
    for node in path[1:]:
        if fn & 1 or fn == sn:
            old_result, new_result = node_hash(node, old_result), node_hash(node, new_result)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_result = node_hash(new_result, node)
        fn, sn = fn >> 1, sn >> 1
    _check_root("consistency proof: computed old root", old_result, old_root)
    _check_root("consistency proof: computed new root", new_result, new_root)


def _check_length(what: str, expected: int, proof: Sequence[bytes]) -> None:
    if len(proof) != expected:
        raise ProofError(f"{what}: wrong number of hashes: expected {expected}, found {len(proof)}")


def _check_root(what: str, computed: bytes, expected: bytes) -> None:
    if not hmac.compare_digest(computed, expected):
        raise ProofError(f"{what} {computed.hex()} does not match expected {expected.hex()}")
