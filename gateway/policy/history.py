"""Which policy bundles were in force, and when, read back from the audit log.

Every decision record names the digest of the bundle that decided it and its signers;
every reload (``policy.reloaded``) names the old and new digests and the new bundle's
signers; a signature made with ``gateway policy sign`` is ``policy.signed``.  The history
lists each digest ever in force with the first and last record made under it, so an
auditor can say which rules decided any past record (then ``gateway policy check`` on the
bundle of that digest, from version control, shows them).  The log's integrity is
``gateway audit verify``'s job; this reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.audit.records import AuditRecord, parse_record
from gateway.audit.snapshot import read_records
from gateway.errors import VerificationError

__all__ = ["BundleInForce", "bundle_history", "read_history"]

POLICY_SIGNED = "policy.signed"
_RELOADED = "policy.reloaded"


@dataclass
class BundleInForce:
    """One bundle digest and what the log says about it."""

    digest: str
    since: str | None = None  # when it came into force: its reload, else its first record
    until: str | None = None  # the last record made under it
    signers: list[str] = field(default_factory=list)
    decisions: int = 0

    def _saw(self, time: str) -> None:
        self.since = self.since or time
        self.until = time

    def _signed_by(self, names: Iterable[object]) -> None:
        for name in names:
            if isinstance(name, str) and name not in self.signers:
                self.signers.append(name)


def bundle_history(records: Iterable[AuditRecord]) -> list[BundleInForce]:
    """Every bundle digest in force in ``records`` (in log order), oldest first."""
    found: dict[str, BundleInForce] = {}
    signed: dict[str, list[object]] = {}

    def entry(digest: str) -> BundleInForce:
        return found.setdefault(digest, BundleInForce(digest))

    for record in records:
        payload = record.payload
        if record.type == POLICY_SIGNED:
            signed.setdefault(str(payload.get("digest")), []).append(payload.get("signer"))
            continue
        if record.type == _RELOADED:
            new = payload.get("new_digest")
            if isinstance(new, str):
                item = entry(new)
                item._saw(record.time)
                item._signed_by(_names(payload.get("signers")))
            continue
        if record.policy_digest is None or record.type == "policy.refused":
            continue
        item = entry(record.policy_digest)
        item._saw(record.time)
        if record.type == "decision":
            item.decisions += 1
            item._signed_by(_names(payload.get("policy_signers")))
    for digest, names in signed.items():
        if digest in found:
            found[digest]._signed_by(names)
    return sorted(found.values(), key=lambda item: item.since or "")


def _names(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def read_history(log: Path) -> list[BundleInForce]:
    """The bundle history of the audit log at ``log``."""
    try:
        lines = list(read_records(log))
    except OSError as exc:
        raise VerificationError("unreadable log", f"{log}: {exc.strerror}") from exc
    return bundle_history(parse_record(line, index) for index, line in enumerate(lines))
