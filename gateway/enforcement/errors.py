"""The refusal every entry shows when the policy decision point says deny."""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = ["PolicyDeniedError"]


class PolicyDeniedError(GatewayError):
    """The decision was deny; ``reasons`` are the policies' own words, never a secret."""

    exit_code = ExitCode.DENIED

    def __init__(
        self, action: str, resource: str, reasons: tuple[str, ...], decision_id: str | None
    ) -> None:
        self.action = action
        self.resource = resource
        self.reasons = reasons
        self.decision_id = decision_id
        why = "; ".join(reasons) if reasons else "no policy allows it"
        super().__init__(f"{action} on {resource} denied: {why}")
