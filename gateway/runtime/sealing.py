"""Secret outputs (a temporary password), sealed for the actor to read once.

Each is encrypted with AES-256-GCM under the key file ``runtime.output_key`` (0600, made
on first use) and bound to its execution and name, kept until it is read or its time is
up, and deleted as it is read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from gateway.errors import GatewayError
from gateway.runtime.errors import ExecutionStateError, ExecutionStoreError
from gateway.runtime.store import Transaction
from gateway.stepup.seeds import SealedSeed, SeedCipher

__all__ = ["OutputSealer"]


class OutputSealer:
    def __init__(self, cipher: SeedCipher, ttl_seconds: int) -> None:
        self._cipher = cipher
        self._ttl = timedelta(seconds=ttl_seconds)

    @classmethod
    def from_key_file(cls, path: Path, ttl_seconds: int) -> OutputSealer:
        try:
            cipher = SeedCipher.from_key_file(path, create=True)
        except GatewayError as exc:
            raise ExecutionStoreError(str(exc).replace("seed key", "output key")) from None
        return cls(cipher, ttl_seconds)

    def seal(
        self, tx: Transaction, execution_id: str, name: str, value: SecretStr, now: datetime
    ) -> None:
        sealed = self._cipher.seal(f"{execution_id}/{name}", value.get_secret_value())
        tx.seal(execution_id, name, sealed.nonce, sealed.ciphertext, now + self._ttl)

    def take(self, tx: Transaction, execution_id: str, name: str, now: datetime) -> str:
        found = tx.take_sealed(execution_id, name)
        if found is None:
            raise ExecutionStateError(
                f"execution {execution_id} has no unread secret output {name!r} "
                "(it was read already, expired, or never made)"
            )
        nonce, ciphertext, expires = found
        if expires <= now:
            raise ExecutionStateError(f"secret output {name!r} of {execution_id} has expired")
        try:
            return self._cipher.open(
                f"{execution_id}/{name}", SealedSeed(self._cipher.key_id, nonce, ciphertext)
            )
        except GatewayError:
            raise ExecutionStoreError(
                f"secret output {name!r} of {execution_id} does not decrypt"
            ) from None
