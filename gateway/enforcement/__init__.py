"""The one enforcement point: every entry that reads protected data or changes state asks
here first.

``require_allowed`` turns a decision of the policy decision point (already audited by the
decider) into an allow or a ``PolicyDeniedError``; ``record_first`` appends the audit
record a change needs before the change is made, so that a log that cannot be written
stops the change.  ``AuditSink`` is the one shape of "something that appends a record".
"""

from gateway.audit.sink import AuditSink, record_first
from gateway.enforcement.decide import Authorizer, require_allowed
from gateway.enforcement.errors import PolicyDeniedError

__all__ = ["AuditSink", "Authorizer", "PolicyDeniedError", "record_first", "require_allowed"]
