"""Subject rights: export everything held about a person, erase their personal data.

Order of an erasure (fail closed, record first):

1. the person must be known: in the directory, or holding (or having held) data keys;
   an unknown person is ``UnknownPersonError`` and nothing is decided or written;
2. ``privacy.erase`` on ``account:<login>`` is decided by policy (audited as a decision);
   a deny raises ``PolicyDeniedError``;
3. a ``privacy.erased`` record is appended (the login, the number of data keys, the
   types kept for legal reasons, and per source how many items it is about to erase): if
   it cannot be written nothing changes;
4. the person's data keys are deleted (but those of ``keep_on_erasure`` types), then each
   source takes their data out.

Erasing again is allowed and does the same (there is nothing left to delete); it is
decided and recorded again, with ``"again": true``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.audit.records import AuditEvent, parse_record
from gateway.audit.sink import AuditSink, record_first
from gateway.audit.snapshot import read_records
from gateway.audit.store import AuditReader
from gateway.clock import Clock, utcnow
from gateway.enforcement.decide import Authorizer, require_allowed
from gateway.errors import UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.privacy.classification import PERSON_RESOURCES
from gateway.privacy.errors import UnknownPersonError
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.sealer import open_payload
from gateway.privacy.sources import Person, PersonalDataSource

__all__ = ["ERASED_EVENT", "ERASE_ACTION", "EXPORT_ACTION", "Erasure", "SubjectRights"]

ERASE_ACTION = "privacy.erase"
EXPORT_ACTION = "privacy.export"
ERASED_EVENT = "privacy.erased"


@dataclass(frozen=True)
class Erasure:
    person: str
    data_keys: int
    again: bool
    kept_types: tuple[str, ...]
    sources: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "data_keys_erased": self.data_keys,
            "again": self.again,
            "kept_for_legal_reasons": list(self.kept_types),
            "sources": self.sources,
        }


@dataclass
class SubjectRights:
    """Export and erasure over the log, the data key store and the other sources."""

    authorizer: Authorizer
    directory: DirectoryConnector
    audit: AuditSink | None
    log_path: Path | AuditReader  # the log's file, or its records wherever they live
    keys: DataKeyStore
    sources: Sequence[PersonalDataSource] = ()
    keep_on_erasure: frozenset[str] = frozenset()
    clock: Clock = utcnow

    def _person(self, login: str) -> tuple[Person, dict[str, Any] | None]:
        try:
            facts = self.directory.get_user(login)
        except UnknownActorError:
            if not self.keys.knows(login):
                raise UnknownPersonError(
                    f"unknown person {login!r}: not in the directory and no data key"
                ) from None
            return Person(login, (login,)), None
        names = facts.display_name.split()
        identifiers = tuple(
            item for item in (login, facts.display_name, *names, facts.email or "") if item
        )
        shown = {
            "id": facts.id,
            "display_name": facts.display_name,
            "email": facts.email,
            "department": facts.department,
            "title": facts.title,
            "manager": facts.manager,
            "groups": sorted(facts.groups),
        }
        return Person(login, identifiers), shown

    # -- export ------------------------------------------------------------------------

    def export(self, login: str, *, by: str) -> dict[str, Any]:
        """Everything held about ``login``, with sealed fields opened where the key is."""
        person, directory = self._person(login)
        require_allowed(
            self.authorizer, actor=by, action=EXPORT_ACTION, resource=f"account:{login}"
        )
        return {
            "person": login,
            "directory": directory,
            "audit_records": list(self._records_of(login)),
            "sources": {source.name: source.export(person) for source in self.sources},
        }

    def _records_of(self, login: str) -> Iterator[dict[str, Any]]:
        # Records are sealed under the key of their actor or of the person their resource
        # names (``gateway.privacy.classification``): those are the person's records.
        named = {f"{kind}:{login}" for kind in PERSON_RESOURCES}
        source = self.log_path
        lines = read_records(source) if isinstance(source, Path) else source.lines()
        for index, line in enumerate(lines):
            record = parse_record(line, index)
            if record.actor == login or record.resource in named:
                opened = open_payload(record.type, record.payload, self.keys)
                yield {
                    "seq": record.seq,
                    "time": record.time,
                    "type": record.type,
                    "actor": record.actor,
                    "action": record.action,
                    "resource": record.resource,
                    "payload": opened.payload,
                    "sealed": opened.fields,
                }

    # -- erasure -----------------------------------------------------------------------

    def erase(self, login: str, *, by: str) -> Erasure:
        person, _ = self._person(login)
        decision = require_allowed(
            self.authorizer, actor=by, action=ERASE_ACTION, resource=f"account:{login}"
        )
        again = self.keys.was_erased(login)
        keys = self.keys.count(login, self.keep_on_erasure)
        kept = tuple(sorted(self.keep_on_erasure))
        held = {source.name: source.held(person) for source in self.sources}
        record_first(
            self.audit,
            AuditEvent(
                type=ERASED_EVENT,
                actor=by,
                action=ERASE_ACTION,
                resource=f"account:{login}",
                decision_id=decision.decision_id,
                policy_digest=decision.policy_digest,
                payload={
                    "data_keys": keys,
                    "again": again,
                    "kept_for_legal_reasons": list(kept),
                    "sources": held,
                },
            ),
        )
        erased = self.keys.erase_person(login, self.clock(), self.keep_on_erasure)
        changed = {source.name: source.erase(person) for source in self.sources}
        return Erasure(login, erased, again, kept, changed)
