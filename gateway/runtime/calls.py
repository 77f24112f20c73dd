"""Calling an action: on a pool of threads, within the action's timeout."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from gateway.errors import GatewayError, TargetUnavailableError
from gateway.runtime.actions import ActionCall, ActionOutput, ActionSpec

__all__ = ["ActionRunner", "failure_reason"]


class ActionRunner:
    """Runs actions on ``workers`` threads; raises ``FutureTimeout`` when one overruns."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="action")

    def call(self, action: ActionSpec, call: ActionCall) -> ActionOutput:
        future = self._pool.submit(action.run, call) if action.timeout_seconds else None
        if future is None:  # pragma: no cover - every action has a timeout
            return action.run(call)
        try:
            return future.result(timeout=action.timeout_seconds)
        except FutureTimeout:
            if future.cancel():  # it never started: every worker was busy
                raise TargetUnavailableError(
                    "gateway", f"{action.name} did not start within {action.timeout_seconds:g} s"
                ) from None
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def failure_reason(action: ActionSpec, exc: BaseException) -> str:
    """Why a call failed, in words fit for the audit log (never the exception's text
    unless it is one of the gateway's own)."""
    if isinstance(exc, FutureTimeout):
        return f"{action.name} timed out after {action.timeout_seconds:g} s"
    if isinstance(exc, GatewayError):
        return str(exc)
    return f"{action.name} raised {type(exc).__name__}"
