"""Real ``gateway serve`` processes on one PostgreSQL database, for the reliability tests.

``Site`` is one gateway's folder (policies, workflows, keys, its own audit log) whose
``gateway.toml`` puts every store in the database ``dsn`` names; ``Site.serve()`` starts
``gateway serve`` there as its own process (as a second host would run it) and returns
its URL.  Keys and tokens are made with the same commands an operator runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]
DSN_ENV = "GATEWAY_DATABASE_URL"
GATEWAY = (sys.executable, "-m", "gateway")
CONFIG = f"""\
[storage]
backend = "postgresql"
dsn_env = "{DSN_ENV}"
pool_size = 8
timeout_seconds = 2

[runtime]
worker_interval_seconds = 0.2
"""


def records(log: Path) -> list[dict[str, Any]]:
    """The audit records of ``log``, in order."""
    return [json.loads(line) for line in log.read_text().splitlines() if line]


@dataclass
class Site:
    """One gateway's folder; every store in the PostgreSQL database of ``dsn``."""

    root: Path
    dsn: str
    config: str = CONFIG
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    clients: list[httpx.Client] = field(default_factory=list)  # closed by stop()

    def client(self, url: str) -> httpx.Client:
        """An HTTP client for ``url``, closed when this site stops."""
        made = httpx.Client(base_url=url, timeout=30)
        self.clients.append(made)
        return made

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in ("policies", "automations"):
            if not (self.root / folder).exists():
                shutil.copytree(REPO / folder, self.root / folder)
        (self.root / "gateway.toml").write_text(self.config)

    def twin(self, root: Path) -> Site:
        """A second host of the same deployment: its own folder, this one's keys (one
        audit chain needs one signing key), the same database and configuration."""
        root.mkdir(parents=True)
        shutil.copytree(self.root / "keys", root / "keys")
        return Site(root, self.dsn, self.config)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, DSN_ENV: self.dsn, "PYTHONUNBUFFERED": "1"}

    @property
    def audit_log(self) -> Path:
        """The audit log as ``gateway audit export`` writes it (from the file, or from the
        shared database when the audit log lives there)."""
        exported = self.root / "exported-audit.log"
        self.run("audit", "export", "--output", str(exported))
        return exported

    def run(self, *arguments: str) -> Any:
        """``gateway --config gateway.toml ARGUMENTS --json`` here; its JSON output."""
        result = CliRunner().invoke(
            cli,
            ["--config", str(self.root / "gateway.toml"), *arguments, "--json"],
            env={DSN_ENV: self.dsn},
            prog_name="gateway",
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def api_key(self, *scopes: str) -> str:
        arguments = [part for scope in scopes for part in ("--scope", scope)]
        made = self.run("callers", "api-key", "create", "--name", "reliability", *arguments)
        return str(made["key"])

    def token(self, user: str, *scopes: str) -> str:
        arguments = [part for scope in scopes for part in ("--scope", scope)]
        return str(self.run("callers", "token", "--user", user, *arguments)["token"])

    def serve(self, workers: int = 1) -> str:
        """Start ``gateway serve --workers WORKERS`` on a free port; its URL once it
        answers.  Its output goes to files (``serve-N.out``, ``serve-N.err``): a pipe
        nobody reads would fill up and stall the server."""
        number = len(self.processes)
        out = self.root / f"serve-{number}.out"
        err = self.root / f"serve-{number}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(
                [*GATEWAY, "serve", "--port", "0", "--workers", str(workers)],
                cwd=self.root,
                stdout=stdout,
                stderr=stderr,
                text=True,
                env=self.env,
            )
        self.processes.append(process)

        def started() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"gateway serve did not start: {err.read_text()}")
            first = out.read_text().partition("\n")[0]
            return first.split()[3] if first.startswith("gateway API on http://") else None

        url: str = wait_for(started, "gateway serve to start")
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=5).raise_for_status()
                return url
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop every process started here (SIGTERM: a clean shutdown) and close the
        clients made for them."""
        for client in self.clients:
            client.close()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def verify_audit_log(self) -> list[dict[str, Any]]:
        """``gateway audit verify`` of this site's log with its public key alone; the
        records verified."""
        log = self.audit_log
        result = CliRunner().invoke(
            cli,
            ["audit", "verify", "--log", str(log),
             "--key", str(self.root / "keys" / "audit-signing.pub")],
            prog_name="gateway",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return records(log)


@contextmanager
def sites(dsn: str, *roots: Path) -> Iterator[list[Site]]:
    """One ``Site`` per folder on the database of ``dsn``; every process stopped after."""
    made = [Site(root, dsn) for root in roots]
    try:
        yield made
    finally:
        for site in made:
            site.stop()


def wait_for(check: Any, what: str, timeout: float = 60.0) -> Any:
    """Poll ``check()`` until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
