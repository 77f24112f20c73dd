"""A step-up bound to a self-service run lets that one run go on, not an identical next one."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp

from gateway.config import GatewayConfig
from gateway.selfservice import RunState
from tests.selfservice.harness import Clock, Stack
from tests.selfservice.test_edges import STEP_UP_POLICY


def test_a_step_up_bound_to_a_run_is_used_by_that_run_only(config: GatewayConfig) -> None:
    (config.policy.dir / "cedar" / "zz-test-step-up.cedar").write_text(STEP_UP_POLICY)
    stack = Stack(config, Clock(datetime.now(UTC)))
    try:
        first = stack.service.run("tom", "unlock-my-account", {})
        digest = str((first.waiting or {})["digest"])
        stepup = stack.gateway.stepup
        assert stepup is not None
        seed = stepup.enrol("tom").seed.get_secret_value()
        stepup.verify("tom", pyotp.TOTP(seed).now(), bound_to=digest)
        assert stack.service.resume(first.id).state is not RunState.AWAITING_STEP_UP
        stack.service.cancel(first.id, "tom")  # over: the same request is a new run now

        second = stack.service.run("tom", "unlock-my-account", {})

        assert second.id != first.id
        assert second.state is RunState.AWAITING_STEP_UP
        assert (second.waiting or {})["digest"] == digest, "the same request"
    finally:
        stack.close()
