"""ServiceNow's error object as one line of text, for every connector that calls it.

The REST APIs of an instance (Table API, and the others built on it) answer a refusal
with ``{"error": {"message", "detail"}, "status": "failure"}``.  The text is ``message:
detail`` (either may be missing), at most 300 characters; a body that is not such an
object, or cannot be read at all (not JSON, nested too deeply, a number too long), is
``no error details``.  Nothing of the request goes into it.
"""

from __future__ import annotations

import httpx

__all__ = ["NO_DETAILS", "servicenow_error_text"]

NO_DETAILS = "no error details"
MAX_TEXT = 300


def servicenow_error_text(response: httpx.Response) -> str:
    """``message: detail`` from ServiceNow's error object, or ``no error details``."""
    try:
        error = response.json().get("error") or {}
        parts = (str(error.get("message") or "").strip(), str(error.get("detail") or "").strip())
    except (ValueError, AttributeError, RecursionError):
        return NO_DETAILS
    return ": ".join(part for part in parts if part)[:MAX_TEXT] or NO_DETAILS
