"""A gateway process for the runtime reliability scenarios to start, kill and restart.

``python -m tests.scenarios.runtime_child wait CONFIG WORKFLOW DEVICE`` starts WORKFLOW
(one of ``WAIT_WORKFLOWS``) for DEVICE, prints the execution id on a line of its own and
advances it.  The workflow installs 7zip on the device and then runs a ``wait`` step
whose action blocks until the gate file beside CONFIG exists, so the scenario can kill
the process while the step runs.  Every call of that action adds a line
``<pid> <execution> <attempt>`` to the runs file beside CONFIG.

``python -m tests.scenarios.runtime_child submit CONFIG COUNT SECONDS`` starts COUNT
installs of 7zip on distinct devices with the shipped workflows, then hands them all at
once to the executor's background ``submit`` and prints, as JSON, how many executions are in each
state once all have finished or SECONDS have passed.

``open_scenario_runtime`` builds the same gateway and executor in the scenario itself,
for the restart after the kill.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.app import Gateway, open_runtime
from gateway.config import GatewayConfig, load_config
from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.errors import ActionFailedError
from gateway.runtime.actions import ActionCall, ActionOutput, ActionRegistry, ActionSpec
from gateway.runtime.builtin import software_actions
from gateway.runtime.executor import Executor
from gateway.runtime.parameters import ParameterSpec
from gateway.runtime.store import ExecutionStore
from gateway.runtime.workflows import WorkflowCatalog

# The workflows the ``wait`` command runs, each with the action of its ``wait`` step.
WAIT_WORKFLOWS = {"install-then-wait": "test.wait", "install-then-wait-once": "test.wait-once"}
GATE_PATIENCE_SECONDS = 120.0  # how long a waiting action waits for its gate at most
_DEVICE = ParameterSpec(pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", max_length=64)

_WORKFLOW = """\
id: {id}
title: Install 7zip, then wait for the gate
version: 1
target: "device:{{{{ params.device }}}}:7zip"
parameters:
  device:
    pattern: "[A-Za-z0-9][A-Za-z0-9._-]{{0,63}}"
steps:
  - id: install
    action: software.install
    with: {{title: 7zip, device: "{{{{ params.device }}}}"}}
  - id: wait
    action: {action}
    with: {{device: "{{{{ params.device }}}}"}}
"""


def gate_file(config_path: Path) -> Path:
    """Once this file exists, waiting actions go on."""
    return config_path.parent / "gate"


def runs_file(config_path: Path) -> Path:
    """One line per call of a waiting action: ``<pid> <execution> <attempt>``."""
    return config_path.parent / "runs.log"


def write_wait_workflows(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for workflow_id, action in WAIT_WORKFLOWS.items():
        text = _WORKFLOW.format(id=workflow_id, action=action)
        (folder / f"{workflow_id}.yaml").write_text(text, encoding="utf-8")


def waiting_actions(gate: Path, runs: Path) -> list[ActionSpec]:
    """``test.wait`` (idempotent) and ``test.wait-once`` (not): both block until ``gate``
    exists."""

    def wait(call: ActionCall) -> ActionOutput:
        with runs.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {call.execution_id} {call.attempt}\n")
        deadline = time.monotonic() + GATE_PATIENCE_SECONDS
        while not gate.exists():
            if time.monotonic() > deadline:
                raise ActionFailedError("the gate did not open")
            time.sleep(0.01)
        return ActionOutput(values={"device": call.parameters["device"]}, detail="gate passed")

    def spec(name: str, idempotent: bool) -> ActionSpec:
        return ActionSpec(
            name=name,
            description="wait until the scenario opens the gate",
            run=wait,
            parameters={"device": _DEVICE},
            idempotent=idempotent,
            timeout_seconds=GATE_PATIENCE_SECONDS + 30,
            system="gate",
        )

    return [spec("test.wait", True), spec("test.wait-once", False)]


@dataclass
class ScenarioRuntime:
    """The gateway, its executor and the embedded device manager the installs go to."""

    gateway: Gateway
    executor: Executor
    devices: EmbeddedDeviceManager

    def close(self) -> None:
        self.executor.close()
        self.executor.store.close()
        self.devices.close()
        self.gateway.close()


def open_scenario_runtime(config_path: Path) -> ScenarioRuntime:
    """The gateway of ``config_path`` with the software actions and the waiting actions,
    composed as ``gateway.app.open_runtime`` composes the shipped ones."""
    config = load_config(config_path)
    gateway = Gateway.from_config(config)
    settings = config.runtime
    devices = EmbeddedDeviceManager(settings.embedded_systems / "devices.db")
    actions = ActionRegistry(
        [
            *software_actions(devices),
            *waiting_actions(gate_file(config_path), runs_file(config_path)),
        ]
    )
    audit = gateway.audit
    executor = Executor(
        gateway,
        WorkflowCatalog.load(settings.workflows, actions),
        actions,
        ExecutionStore(settings.database),
        audit=audit.append if audit is not None else None,
        settings=settings,
    )
    return ScenarioRuntime(gateway, executor, devices)


def _wait(config_path: Path, workflow: str, device: str) -> None:
    runtime = open_scenario_runtime(config_path)
    execution = runtime.executor.start(workflow, {"device": device}, actor="elena")
    print(execution.id, flush=True)
    finished = runtime.executor.advance(execution.id)
    print(finished.state, flush=True)
    runtime.close()


def _submit(config: GatewayConfig, count: int, seconds: float) -> None:
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    ids = [
        executor.start(
            "software-install", {"title": "7zip", "device": f"pc-{number:04d}"}, actor="elena"
        ).id
        for number in range(count)
    ]
    for execution_id in ids:  # a burst, as when many tickets arrive at once
        executor.submit(execution_id)
    deadline = time.monotonic() + seconds
    executions = [executor.get(i) for i in ids]
    while not all(e.state.finished for e in executions) and time.monotonic() < deadline:
        time.sleep(0.05)
        executions = [executor.get(i) for i in ids]
    states = Counter(str(execution.state) for execution in executions)
    print(json.dumps(dict(states), sort_keys=True), flush=True)
    # Leave at once: a pool thread that never finishes must not keep the process alive.
    os._exit(0)


def main(argv: Sequence[str]) -> None:
    command, config_path, *rest = argv
    if command == "wait":
        workflow, device = rest
        _wait(Path(config_path), workflow, device)
    else:
        count, seconds = rest
        _submit(load_config(Path(config_path)), int(count), float(seconds))


if __name__ == "__main__":
    main(sys.argv[1:])
