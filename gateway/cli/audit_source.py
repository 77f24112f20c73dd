"""Which audit log a reading command reads: the file ``--log`` names, or else the log the
configuration writes (``[audit] log``, or an export of the shared database's table to a
temporary file when ``[storage] backend = "postgresql"``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from gateway.config import GatewayConfig
from gateway.errors import RequestError

__all__ = ["LOG_OPTION", "log_file"]

LOG_OPTION = click.option(
    "--log",
    "log_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The audit log file (default: the configured log, in the shared database when "
    "[storage] backend is postgresql).",
)


@contextmanager
def log_file(ctx: click.Context, log_path: Path | None) -> Iterator[Path]:
    """``log_path``, or the configured log as a file for the block."""
    if log_path is not None:
        yield log_path
        return
    config = ctx.find_root().obj
    if not isinstance(config, GatewayConfig):
        raise RequestError("--log: no configuration to read the audit log from; name the file")
    from gateway.app.audit import audit_log_file  # the composition root

    with audit_log_file(config) as path:
        yield path
