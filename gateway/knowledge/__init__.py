"""Resolution documentation and the knowledge base.

From the audit log and execution records (and troubleshooting session trails) to a
deterministic Markdown summary for technicians and for end users, to a knowledge base
article per recurring resolution (a new version when the same problem comes back), to a
JSON search document and a full-text index that suggests articles for new tickets.
Personal data and secrets are redacted before anything is written or sent.
See docs/knowledge.md.
"""

from gateway.knowledge.audit_trail import AuditIndex, read_audit
from gateway.knowledge.base import ArticleChange, KnowledgeBase, Suggestion
from gateway.knowledge.collect import collect_execution, collect_session, collect_ticket
from gateway.knowledge.errors import KnowledgeError
from gateway.knowledge.redaction import RedactionOptions, Redactor
from gateway.knowledge.session import SessionDiagnostic, SessionNode, SessionOutcome, SessionTrail
from gateway.knowledge.summary import Audience, SummaryTemplates
from gateway.knowledge.trail import Trail

__all__ = [
    "ArticleChange",
    "Audience",
    "AuditIndex",
    "KnowledgeBase",
    "KnowledgeError",
    "RedactionOptions",
    "Redactor",
    "SessionDiagnostic",
    "SessionNode",
    "SessionOutcome",
    "SessionTrail",
    "Suggestion",
    "SummaryTemplates",
    "Trail",
    "collect_execution",
    "collect_session",
    "collect_ticket",
    "read_audit",
]
