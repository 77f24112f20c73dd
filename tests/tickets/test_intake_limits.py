"""The token bucket in front of unauthenticated intake: a burst, then the configured rate."""

from __future__ import annotations

import pytest

from gateway.tickets.errors import IntakeRateLimitedError
from gateway.tickets.intake_limits import IntakeLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_source_gets_its_burst_then_one_delivery_per_interval() -> None:
    clock = Clock()
    limits = IntakeLimits(per_minute=30, burst=3, clock=clock)

    for _ in range(3):
        limits.admit("jira")
    with pytest.raises(IntakeRateLimitedError) as refused:
        limits.admit("jira")
    assert refused.value.retry_after == 2
    assert str(refused.value) == "too many unauthenticated jira deliveries; retry in 2 s"

    clock.now += 2.0
    limits.admit("jira")
    clock.now += 600.0  # a long quiet spell refills the burst, no more
    for _ in range(3):
        limits.admit("jira")
    with pytest.raises(IntakeRateLimitedError):
        limits.admit("jira")
    assert limits.refused.as_json() == {"jira": {"rate_limited": 2}}


def test_each_source_has_its_own_bucket() -> None:
    limits = IntakeLimits(per_minute=1, burst=1, clock=Clock())

    limits.admit("jira")
    limits.admit("other")
    with pytest.raises(IntakeRateLimitedError) as refused:
        limits.admit("jira")

    assert refused.value.retry_after == 60
    assert refused.value.source == "jira"


@pytest.mark.parametrize(
    ("per_minute", "burst"),
    [(0, 5), (10, 0)],
    ids=["a rate of zero is a mistake", "a burst of zero is a mistake"],
)
def test_limits_that_would_refuse_everything_are_a_programming_error(
    per_minute: float, burst: int
) -> None:
    with pytest.raises(ValueError, match="per_minute must be positive and burst at least 1"):
        IntakeLimits(per_minute=per_minute, burst=burst)
