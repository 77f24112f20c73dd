"""``gateway serve``: run the HTTP API with uvicorn (one process)."""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path

import click
import uvicorn

from gateway.api import create_app
from gateway.app import open_services
from gateway.audit.unsafe import UNSAFE_SETTING
from gateway.config import GatewayConfig, load_config
from gateway.errors import ConfigError
from gateway.runtime.worker import BackgroundWorker

__all__ = ["serve"]


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
@click.pass_obj
def serve(
    config: GatewayConfig, host: str | None, port: int | None, config_path: Path | None,
    access_log: bool,
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
    with open_services(config, tickets_advance="background") as parts:
        gateway = parts.gateway
        worker = BackgroundWorker(parts.background_jobs(), config.runtime.worker_interval_seconds)
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
            sock = _listen(host or settings.host, settings.port if port is None else port)
            try:
                click.echo(
                    f"gateway API on {_url(sock)} (OpenAPI at /openapi.json, with credentials)"
                )
                if services.callers.issuer is not None:
                    click.echo("  a person's token:  gateway callers token --user USER")
                click.echo(
                    "  a service's key:   gateway callers api-key create --name NAME --scope SCOPE"
                )
                sys.stdout.flush()
                gateway.policies.start_watching(config.policy.watch_interval_seconds)
                worker.start()  # resumes executions left by an earlier run first
                server = uvicorn.Server(
                    uvicorn.Config(app, access_log=access_log, log_level="info", lifespan="off")
                )
                with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C: uvicorn has shut down
                    server.run(sockets=[sock])
            finally:
                sock.close()
                services.close()
        finally:
            worker.stop()
            gateway.policies.stop_watching()
