"""Running without an audit log: possible only when asked for by its unsafe name
(``[audit] unsafe_no_audit = true``), and loud about it every time it matters.

Each decision (and each other record) that goes unaudited logs a warning on the
``gateway.audit.unsafe`` logger; the message names what was not recorded, never a secret.
"""

from __future__ import annotations

import logging

__all__ = ["UNSAFE_SETTING", "warn_no_audit_log", "warn_unaudited"]

UNSAFE_SETTING = "[audit] unsafe_no_audit = true"

log = logging.getLogger(__name__)


def warn_no_audit_log() -> None:
    """Say once, when the gateway is built, that nothing will be audited."""
    log.warning("UNSAFE: no audit log (%s): decisions and actions are not audited", UNSAFE_SETTING)


def warn_unaudited(what: str) -> None:
    """Say that ``what`` (e.g. ``decision password.reset on account:tom by elena``) was
    not audited."""
    log.warning("UNSAFE: %s was not audited (%s)", what, UNSAFE_SETTING)
