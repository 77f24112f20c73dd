"""Which bundles the gateway trusts: signatures from distinct trusted signers, a threshold.

    check(root, digest)
        a signature counts when ........ its key is a trusted key and not a revoked one
                                         (``[policy] revoked_keys``), it verifies over the
                                         bundle's digest, and its signer was not yet counted
        ok ............................. counted signers >= threshold
        unsigned ....................... no signature file at all
        tampered ....................... no signature file names the bundle's digest
                                         (the files changed after signing)
        under_signed ................... otherwise (unknown keys, bad signatures, too few)

A trusted key's signer name comes from the configuration, never from the signature file.
With no trusted keys configured, :class:`DevelopmentTrust` signs whatever bundle it is
shown with a development key and warns on every load: decisions are then made under a
development key, which protects nothing.  See ``docs/adr/0013-signed-policy-bundles.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.keys import (
    Signer,
    init_keys,
    key_id,
    load_public_key,
    load_signer,
    verify_signature,
)
from gateway.errors import PolicyBundleError, SourceProblem
from gateway.policy.signatures import (
    BundleSignature,
    read_signatures,
    sign_digest,
    signed_bytes,
    write_signature,
)

__all__ = [
    "DEVELOPMENT_SIGNER",
    "BundleTrust",
    "DevelopmentTrust",
    "PolicyTrustError",
    "TrustCheck",
    "TrustedKey",
    "open_trust",
]

log = logging.getLogger(__name__)

DEVELOPMENT_SIGNER = "development"
Verdict = Literal["ok", "unsigned", "under_signed", "tampered"]


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key the gateway trusts, and the signer it stands for."""

    signer: str
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    @classmethod
    def load(cls, signer: str, path: Path) -> TrustedKey:
        return cls(signer, load_public_key(path))


@dataclass(frozen=True, slots=True)
class TrustCheck:
    """The result of checking a bundle's signatures against the trust root."""

    digest: str
    verdict: Verdict
    signers: tuple[str, ...]  # distinct trusted signers whose signature verifies
    threshold: int
    problems: tuple[str, ...] = ()
    development: bool = False

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    @property
    def missing(self) -> int:
        return max(self.threshold - len(self.signers), 0)

    def describe(self) -> str:
        if self.ok:
            return f"signed by {', '.join(self.signers)} ({len(self.signers)}/{self.threshold})"
        found = ", ".join(self.signers) or "no trusted signer"
        return (
            f"{self.verdict.replace('_', '-')}: {len(self.signers)} of {self.threshold} "
            f"required signatures ({found})"
        )


class PolicyTrustError(PolicyBundleError):
    """The bundle is unsigned, under-signed or tampered; it is not put in force."""

    def __init__(self, root: Path, check: TrustCheck) -> None:
        problems = [SourceProblem(str(root), 0, message) for message in check.problems]
        problems.insert(0, SourceProblem(str(root), 0, f"{check.digest} {check.describe()}"))
        super().__init__("policy bundle is not trusted", problems)
        self.check = check


def _counted(
    signatures: Sequence[BundleSignature],
    keys: dict[str, TrustedKey],
    digest: str,
    revoked: frozenset[str],
) -> tuple[list[str], list[str]]:
    signers: list[str] = []
    problems: list[str] = []
    for item in signatures:
        if item.digest != digest:
            problems.append(f"{item.signer}: signature over another digest {item.digest}")
            continue
        if item.key_id in revoked:
            problems.append(f"{item.signer}: key {item.key_id} is revoked")
            continue
        trusted = keys.get(item.key_id)
        if trusted is None:
            problems.append(f"{item.signer}: key {item.key_id} is not a trusted key")
            continue
        raw = item.signature_bytes()
        if raw is None or not verify_signature(trusted.public_key, raw, signed_bytes(digest)):
            problems.append(f"{item.signer}: signature does not verify with key {item.key_id}")
            continue
        if trusted.signer not in signers:
            signers.append(trusted.signer)
    return sorted(signers), problems


@dataclass
class BundleTrust:
    """Trusted keys and how many distinct signers a bundle needs; signatures by a revoked
    key (its key id in ``revoked``) never count, even while the key is still trusted."""

    keys: tuple[TrustedKey, ...]
    threshold: int = 1
    revoked: frozenset[str] = frozenset()
    _by_id: dict[str, TrustedKey] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("threshold must be at least 1")
        self._by_id = {key.key_id: key for key in self.keys}

    @property
    def development(self) -> bool:
        return False

    def check(self, root: Path, digest: str) -> TrustCheck:
        """Count the valid signatures of the bundle at ``root`` over ``digest``."""
        signatures, file_problems = read_signatures(root)
        signers, problems = _counted(signatures, self._by_id, digest, self.revoked)
        problems = [str(problem) for problem in file_problems] + problems
        verdict: Verdict = "ok"
        if len(signers) < self.threshold:
            if not signatures and not file_problems:
                verdict = "unsigned"
            elif signatures and all(item.digest != digest for item in signatures):
                verdict = "tampered"
            else:
                verdict = "under_signed"
        return TrustCheck(digest, verdict, tuple(signers), self.threshold, tuple(problems))


class DevelopmentTrust(BundleTrust):
    """No trusted keys configured: a development key signs every bundle it is shown.

    With ``write`` the signature is kept in the bundle (``signatures/development.sig.json``)
    when it can be written; either way the bundle is taken as signed by ``development``
    and a warning says that decisions are made under a development key.
    """

    def __init__(self, signer: Signer, *, key_path: Path | None = None, write: bool = True):
        super().__init__((TrustedKey(DEVELOPMENT_SIGNER, signer.public_key),), 1)
        self.signer = signer
        self.key_path = key_path
        self.write = write

    @property
    def development(self) -> bool:
        return True

    def check(self, root: Path, digest: str) -> TrustCheck:
        result = super().check(root, digest)
        if not result.ok and self.write:
            try:
                write_signature(root, sign_digest(self.signer, DEVELOPMENT_SIGNER, digest))
            except PolicyBundleError as exc:
                log.warning("development signature kept in memory only: %s", exc)
        where = f" ({self.key_path})" if self.key_path is not None else ""
        log.warning(
            "policy bundle %s is trusted under a development key%s: no [policy] trusted_keys "
            "are configured, so decisions are made under a development key",
            digest,
            where,
        )
        return TrustCheck(digest, "ok", (DEVELOPMENT_SIGNER,), 1, development=True)


def open_trust(
    trusted_keys: Sequence[tuple[str, Path]],
    threshold: int,
    *,
    development_key: Path,
    create_key: bool = True,
    revoked: Sequence[str] = (),
) -> BundleTrust:
    """The trust root of the configuration: the trusted keys and threshold (less the
    ``revoked`` key ids), or with none the development key at ``development_key`` (made on
    first use when ``create_key``)."""
    if trusted_keys:
        keys = tuple(TrustedKey.load(signer, path) for signer, path in trusted_keys)
        return BundleTrust(keys, threshold, frozenset(revoked))
    if create_key and not development_key.exists():
        init_keys(development_key.parent, stem=development_key.name.removesuffix(".key"))
        log.warning("made a development key for policy bundles: %s", development_key)
    return DevelopmentTrust(load_signer(development_key), key_path=development_key)
