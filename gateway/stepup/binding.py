"""Binding a step-up to one exact action request.

``request_digest`` is ``sha256:`` and the hex SHA-256 over ``BINDING_CONTEXT`` followed by
the canonical JSON (``gateway.audit.canonical``) of ``{"action", "target", "parameters"}``.
The same request always gives the same digest; any change to it gives another.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from pydantic import JsonValue

from gateway.audit.canonical import CanonicalError, canonical_bytes
from gateway.errors import RequestError

__all__ = ["BINDING_CONTEXT", "check_digest", "request_digest"]

BINDING_CONTEXT = b"it-support-gateway stepup binding v1\n"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def request_digest(action: str, target: str, parameters: Mapping[str, JsonValue]) -> str:
    """The digest a step-up is bound to; ``RequestError`` if the parameters have no
    canonical form (floats, huge integers, non-string keys)."""
    body = {"action": action, "target": target, "parameters": dict(parameters)}
    try:
        data = canonical_bytes(body)
    except CanonicalError as exc:
        raise RequestError(f"cannot bind a step-up to this request: {exc}") from exc
    return "sha256:" + hashlib.sha256(BINDING_CONTEXT + data).hexdigest()


def check_digest(digest: str | None) -> str | None:
    """``digest`` if it is ``None`` or ``sha256:`` and 64 lower-case hex digits."""
    if digest is not None and (not isinstance(digest, str) or not _DIGEST.fullmatch(digest)):
        raise RequestError("bound_to must be 'sha256:' followed by 64 lower-case hex digits")
    return digest
