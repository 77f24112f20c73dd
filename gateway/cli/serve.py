"""``gateway serve``: run the HTTP API with uvicorn, in one process or several.

With ``--workers N`` (N > 1) the command binds the port, then forks N worker processes
that each open the gateway's parts (the same SQLite files and audit log: SQLite's locks
and the audit log's file lock order their writes) and serve the shared socket.  Only
worker 0 runs the background beat (timers, orphaned steps, approval expiry and
escalation, notification retries, ticket polling); each worker advances the executions
it starts, finishes its own steps cut short (``recover_own``) and watches the policy
bundle.  On shared state (PostgreSQL) every worker takes its liveness lease before it
serves and renews it on a heartbeat thread of its own, whatever the beat's jobs take, so
that another host never takes over a step it is running.  The parent only supervises:
SIGINT or SIGTERM stops every worker gracefully, and a worker that dies is started again
in its place (worker 0 with the background beat), unless it died within its first
seconds.

Once its parts are open, a serving process collects the garbage of its start-up and
exempts what start-up built (policies, directory, schemas, routes) from Python's cyclic
garbage collector while it serves: a full collection would otherwise walk those objects,
more than a hundred thousand, pausing every request in flight for 100 ms or more.  The
youngest generation is collected every 20,000 allocations rather than every 700: a request's
short-lived objects are freed by reference counting, and collecting them thirty times as
often cost about 5% of the CPU of a decision.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

import click
import uvicorn

from gateway.api import create_app
from gateway.app import open_services
from gateway.app.runtime import take_liveness
from gateway.audit.unsafe import UNSAFE_SETTING
from gateway.chat.service import open_chat
from gateway.config import GatewayConfig, load_config
from gateway.errors import ConfigError
from gateway.runtime.worker import BackgroundWorker

__all__ = ["serve"]

log = logging.getLogger(__name__)

# A worker that exits this soon after its start is not started again (a bad
# configuration would only fail again): the whole server stops instead.
_MIN_WORKER_LIFE_SECONDS = 5.0
_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
# Allocations between two collections of the youngest generation while serving (Python's
# default is 700): a decision allocates thousands of objects that die with its request.
_YOUNG_COLLECTION_EVERY = 20_000


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound before the server starts so its port is known."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: [api] host).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on; 0 picks a free one (default: [api] port).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file (default: the one given to `gateway --config`, else "
    "./gateway.toml when present, else embedded defaults).",
)
@click.option(
    "--access-log/--no-access-log", default=True, show_default=True, help="Log every request."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes sharing the port, the state and the audit log.",
)
@click.pass_obj
def serve(
    config: GatewayConfig, host: str | None, port: int | None, config_path: Path | None,
    access_log: bool, workers: int,
) -> None:  # fmt: skip
    """Serve the HTTP API (docs/api.md) until interrupted (Ctrl+C or SIGTERM), watching
    the policy bundle for changes.  Refuses to run without an audit log."""
    if config_path is not None:
        config = load_config(config_path)
    if config.audit.unsafe_no_audit:
        raise ConfigError(
            f"gateway serve refuses {UNSAFE_SETTING}: a serving gateway audits every decision "
            "before acting; remove the setting"
        )
    settings = config.api
    sock = _listen(host or settings.host, settings.port if port is None else port)
    try:
        if workers == 1:
            _serve_one(config, sock, access_log, background=True)
        else:
            _supervise(config, sock, access_log, workers)
    finally:
        sock.close()


def _serve_one(
    config: GatewayConfig, sock: socket.socket, access_log: bool, *, background: bool
) -> None:
    """Open the gateway's parts and serve ``sock`` until interrupted; ``background``: run
    the background beat in this process too (the banner is printed with it)."""
    with open_services(config, tickets_advance="background") as parts:
        gateway = parts.gateway
        leases = parts.leases  # made before the runtime: closed after its last step
        # every worker finishes its own steps cut short; the beat's also the others'
        jobs = parts.background_jobs() if background else [parts.runtime.recover_own]
        if leases is not None:  # alive for the other hosts before any request or claim
            take_liveness(parts.runtime, leases, wait_seconds=config.storage.lease_seconds)
        worker = BackgroundWorker(jobs, config.runtime.worker_interval_seconds)
        try:
            app = create_app(
                gateway,
                config,
                runtime=parts.runtime,
                selfservice=parts.selfservice,
                troubleshooting=parts.troubleshooting,
                tickets=parts.tickets if config.tickets.enabled else None,
                knowledge=parts.knowledge,
                notifier=parts.notifier,
            )
            services = app.state.services
            collections = gc.get_threshold()
            services.chat = open_chat(  # Slack and Teams, when [chat] configures them
                config.chat, gateway, selfservice=parts.selfservice,
                notifier=parts.notifier, runtime=parts.runtime,
            )  # fmt: skip
            try:
                if background:
                    click.echo(
                        f"gateway API on {_url(sock)} (OpenAPI at /openapi.json, with credentials)"
                    )
                    if services.callers.issuer is not None:
                        click.echo("  a person's token:  gateway callers token --user USER")
                    click.echo(
                        "  a service's key:   gateway callers api-key create --name NAME "
                        "--scope SCOPE"
                    )
                    sys.stdout.flush()
                gateway.policies.start_watching(config.policy.watch_interval_seconds)
                if jobs:  # the beat resumes executions left by an earlier run first
                    worker.start()
                server = uvicorn.Server(
                    uvicorn.Config(app, access_log=access_log, log_level="info", lifespan="off")
                )
                gc.collect()
                gc.freeze()  # what start-up built lives as long as the server
                gc.set_threshold(_YOUNG_COLLECTION_EVERY)
                with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C: uvicorn has shut down
                    server.run(sockets=[sock])
            finally:
                gc.set_threshold(*collections)
                gc.unfreeze()
                services.close()
        finally:
            worker.stop()
            gateway.policies.stop_watching()


def _start_worker(config: GatewayConfig, sock: socket.socket, access_log: bool, index: int) -> int:
    """Fork worker ``index``; the child serves until told to stop, then exits."""
    sys.stdout.flush()
    sys.stderr.flush()
    # No signal between the fork and the child's own handlers: the parent's would run there.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return pid
    code = 1
    try:  # the child: never returns into the parent's click machinery
        # SIGTERM as Ctrl+C: uvicorn shuts down, then the parts are closed in order.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _serve_one(config, sock, access_log, background=index == 0)
        code = 0
    except KeyboardInterrupt:  # a signal before uvicorn took over: a clean stop
        code = 0
    except BaseException as exc:
        click.echo(f"error: gateway serve worker {index}: {exc}", err=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _supervise(config: GatewayConfig, sock: socket.socket, access_log: bool, count: int) -> None:
    """Run ``count`` workers on ``sock`` until SIGINT or SIGTERM, replacing dead ones."""
    running: dict[int, tuple[int, float]] = {}  # pid -> (index, started)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    failed = False
    try:
        with open_services(config):  # keys, the audit log and databases made once, before
            pass  # the workers start: they then only open what exists
        for index in range(count):
            if stopping:
                break
            running[_start_worker(config, sock, access_log, index)] = (index, time.monotonic())
        while running:
            pid, status = os.wait()
            if pid not in running:
                continue
            index, started = running.pop(pid)
            if stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if time.monotonic() - started < _MIN_WORKER_LIFE_SECONDS:
                click.echo(f"error: gateway serve worker {index} exited ({code})", err=True)
                failed = True
                stop(signal.SIGTERM, None)
                continue
            log.warning("gateway serve worker %d exited (%d): starting another", index, code)
            running[_start_worker(config, sock, access_log, index)] = (index, time.monotonic())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise click.ClickException("a worker process could not start; see above")
