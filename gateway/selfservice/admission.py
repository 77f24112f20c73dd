"""Counted guardrails: rate limits, quotas and concurrent runs, read inside the store
transaction that admits the run (``BEGIN IMMEDIATE``), so racing requests are counted
exactly: the first ones in are admitted and the rest are refused with the reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.selfservice.catalog import CatalogItem
from gateway.selfservice.definitions import Quota
from gateway.selfservice.model import Refusal, RefusalReason, Run
from gateway.selfservice.store import RunTransaction

__all__ = ["LimitCheck", "check_limits", "period_start"]

Resync = Callable[[RunTransaction, str], Run]


def period_start(quota: Quota, now: datetime) -> datetime:
    """The start (UTC) of the calendar period ``now`` falls in."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if quota.period == "day":
        return day
    if quota.period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _whose(scope: str) -> str:
    return "for each person" if scope == "user" else "for everyone together"


@dataclass
class LimitCheck:
    """The first counted guardrail a new run would break, and where each one stands."""

    refusal: Refusal | None = None
    report: list[str] = field(default_factory=list)

    def breach(self, reason: RefusalReason, message: str) -> None:
        if self.refusal is None:
            self.refusal = Refusal(reason, message)


def check_limits(
    tx: RunTransaction,
    item: CatalogItem,
    actor: str,
    now: datetime,
    resync: Resync | None = None,
) -> LimitCheck:
    """Count the runs each limit covers.  ``resync`` brings a run's state up to date
    (its executions may have finished since it was stored); it is called only when the
    concurrency limit looks reached, so the count never rests on a stale state."""
    rails = item.definition.guardrails
    check = LimitCheck()
    for limit in rails.rate_limits:
        who = actor if limit.scope == "user" else None
        used = tx.count_runs(item.id, now - timedelta(seconds=limit.seconds), who)
        check.report.append(
            f"rate limit {_whose(limit.scope)}: {used} of {limit.max} per {limit.per}"
        )
        if used >= limit.max:
            check.breach(
                RefusalReason.RATE_LIMIT,
                f"at most {limit.max} runs per {limit.per} {_whose(limit.scope)}; "
                f"{used} already; try again later",
            )
    for quota in rails.quotas:
        who = actor if quota.scope == "user" else None
        used = tx.count_runs(item.id, period_start(quota, now), who)
        owner = "your" if quota.scope == "user" else "the shared"
        check.report.append(f"{owner} quota: {used} of {quota.max} this {quota.period}")
        if used >= quota.max:
            check.breach(
                RefusalReason.QUOTA,
                f"{owner} quota of {quota.max} runs per {quota.period} is used up "
                f"({used} of {quota.max}); it renews next {quota.period}",
            )
    if rails.max_concurrent is not None:
        active = tx.active(item.id)
        if len(active) >= rails.max_concurrent and resync is not None:
            active = [i for i in active if not resync(tx, i).state.finished]
        check.report.append(f"concurrent runs: {len(active)} of {rails.max_concurrent}")
        if len(active) >= rails.max_concurrent:
            check.breach(
                RefusalReason.CONCURRENCY,
                f"at most {rails.max_concurrent} runs of this item at once; "
                f"{len(active)} are unfinished; try again when one finishes",
            )
    return check
