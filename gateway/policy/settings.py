"""The ``[policy]`` settings of bundle trust: trusted signers' public keys and a threshold.

    [policy]
    threshold = 2
    trusted_keys = [
      {signer = "security-alice", public_key = "keys/security-alice.pub"},
      {signer = "security-bob", public_key = "keys/security-bob.pub"},
    ]

With no ``trusted_keys`` the gateway signs the bundle with a development key made on first
use (``policy-development.key`` next to the audit signing key) and says so on every load.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gateway.policy.signatures import SIGNER_PATTERN

__all__ = ["DEVELOPMENT_KEY_STEM", "TrustedKeySettings"]

DEVELOPMENT_KEY_STEM = "policy-development"


class TrustedKeySettings(BaseModel):
    """One trusted public key (PEM) and the signer it stands for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signer: str = Field(pattern=SIGNER_PATTERN)
    public_key: Path
