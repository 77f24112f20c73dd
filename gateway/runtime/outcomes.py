"""What a stage of the step pipeline answers when the step cannot simply go on.

A stage returns its product, or a ``Halt``, and the pipeline stops there:

- ``Failure``: the step fails (recorded), and the steps before it are undone;
- ``Retry``: a system the step needs is down: the step goes back to the queue;
- ``Waiting`` (``waiting``): the step waits, durably, for an approval or a step-up;

``Done`` says the render stage did all there was to do for the step (skipped, scheduled).

``Cleared`` is what the decide stage hands on when the step may go ahead.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.runtime.waiting import Waiting

__all__ = ["Cleared", "Done", "Failure", "Halt", "Retry"]


@dataclass(frozen=True, slots=True)
class Cleared:
    """The step may run: under this decision, bound to this digest (None for a step that
    needs no decision of its own)."""

    decision_id: str | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str
    decision_id: str | None = None
    started: bool = False  # the action ran (``action.failed``) or not (``step.refused``)


@dataclass(frozen=True, slots=True)
class Retry:
    system: str
    detail: str
    started: bool = False
    audit_down: bool = False  # the log is down: wait without counting towards failure


@dataclass(frozen=True, slots=True)
class Done:
    """The step is over and the execution goes on with the next one."""


Halt = Failure | Retry | Waiting
