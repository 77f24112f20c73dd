"""The privacy scenario of ``gateway demo``: after Tom's resolution is documented, the
security team erases Tom; the log still verifies, the auditor's view says "erased", and
the knowledge base no longer names him."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import click

from gateway.app import Gateway, open_knowledge
from gateway.audit.keys import PUBLIC_KEY_FILE, load_public_key
from gateway.audit.store import AuditReader
from gateway.audit.verify import verify_records
from gateway.config import GatewayConfig
from gateway.errors import VerificationError
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.rights import Erasure, SubjectRights
from gateway.privacy.sources import KnowledgeArticles
from gateway.runtime.executor import Executor

__all__ = ["PrivacyScenario", "run_privacy_scenario"]

PERSON = "tom"
OFFICER = "grace"  # the security team answers erasure requests


@dataclass(frozen=True)
class PrivacyScenario:
    erasure: Erasure
    sealed_before: int  # Tom's sealed fields the auditor could open before
    erased_after: int  # the same fields, shown "erased" afterwards
    verified_records: int
    articles_naming_him: int


def _say(text: str) -> None:
    click.echo(f"  > {text}")


def _prefix_digest(log: AuditReader, size: int) -> str:
    """The digest of the first ``size`` records of ``log``, as lines of its file form."""
    digest = hashlib.sha256()
    for _, line in zip(range(size), log.lines(), strict=False):
        digest.update(line + b"\n")
    return digest.hexdigest()


def _sealed_states(records: list[dict[str, Any]]) -> list[str]:
    return [state for record in records for state in record["sealed"].values()]


def run_privacy_scenario(
    config: GatewayConfig, gateway: Gateway, executor: Executor
) -> PrivacyScenario | None:
    """Run the scenario on the configured gateway, printing what happens."""
    click.echo(f"Right to erasure: {PERSON} asks to be forgotten after his ticket was resolved")
    audit = gateway.audit
    if audit is None:
        _say("no audit log: nothing to erase from")
        return None
    base = open_knowledge(config.knowledge)
    keys = DataKeyStore(config.privacy.key_store, gateway.storage)
    try:
        articles = KnowledgeArticles(config.knowledge.articles, base.reindex)
        rights = SubjectRights(
            gateway, gateway.directory, audit.append, audit, keys, [articles],
            frozenset(config.privacy.keep_on_erasure),
        )  # fmt: skip
        before = rights.export(PERSON, by=OFFICER)
        opened = _sealed_states(before["audit_records"]).count("opened")
        mentions = sum(len(item["lines"]) for item in before["sources"]["knowledge_base"])
        _say(
            f"the auditor opens {opened} sealed fields of {PERSON}'s "
            f"{len(before['audit_records'])} records; the knowledge base names him "
            f"{mentions} times"
        )
        size = sum(1 for _ in audit.lines())
        digest = _prefix_digest(audit, size)
        erasure = rights.erase(PERSON, by=OFFICER)
        _say(
            f"{OFFICER} erases {PERSON} (privacy.erase, decided and recorded first): "
            f"{erasure.data_keys} data keys shredded, "
            f"{erasure.sources.get(articles.name, 0)} articles rewritten"
        )
        after = rights.export(PERSON, by=OFFICER)
    finally:
        keys.close()
        base.close()
    public_key = load_public_key(config.audit.signing_key.with_name(PUBLIC_KEY_FILE))
    try:
        report = verify_records(audit.lines(), public_key)
    except VerificationError as exc:  # the demo's own audit check says so, last
        _say(f"audit verify with the public key alone: FAILED {exc}")
        return None
    unchanged = _prefix_digest(audit, size) == digest
    same = "every earlier byte unchanged" if unchanged else "EARLIER BYTES CHANGED"
    _say(f"audit verify with the public key alone: ok, {report.records} records, {same}")
    states = _sealed_states(after["audit_records"])
    sample = next((r for r in after["audit_records"] if "erased" in r["sealed"].values()), None)
    if sample is not None:
        fields = ", ".join(n for n, state in sample["sealed"].items() if state == "erased")
        _say(f"the auditor's view of record {sample['seq']} ({sample['type']}): {fields} erased")
    left = sum(len(item["lines"]) for item in after["sources"]["knowledge_base"])
    _say(f"the knowledge base names {PERSON} {left} times now")
    return PrivacyScenario(erasure, opened, states.count("erased"), report.records, left)
