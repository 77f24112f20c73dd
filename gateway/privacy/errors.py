"""Privacy errors: a data key store that cannot be used, an unknown person, a refused
retention rule.  All derive from ``GatewayError`` so the CLI maps them once."""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = ["KeyStoreError", "PrivacyError", "RetentionRefusedError", "UnknownPersonError"]


class PrivacyError(GatewayError):
    """A subject-rights or retention request could not be carried out."""


class KeyStoreError(PrivacyError):
    """The data key store cannot be opened, read or written."""


class UnknownPersonError(PrivacyError):
    """Nothing is known about the person named: not in the directory, no data key."""

    exit_code = ExitCode.INVALID_INPUT


class RetentionRefusedError(PrivacyError):
    """A retention rule would shred records that policy keeps under legal hold."""

    exit_code = ExitCode.INVALID_INPUT
