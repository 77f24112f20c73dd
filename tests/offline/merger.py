"""One central gateway syncing a segment (``test_sync_postgres.py``).

``python -m tests.offline.merger CONFIG SEGMENT`` (run in the central gateway's folder)
prints ``ready``, waits for ``go`` on its input, then runs ``gateway --config CONFIG
offline sync SEGMENT --json`` and prints its exit code and output as one JSON line.
"""

from __future__ import annotations

import json
import sys

from click.testing import CliRunner

from gateway.cli import cli


def main(config: str, segment: str) -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit(2)
    result = CliRunner().invoke(
        cli, ["--config", config, "offline", "sync", segment, "--json"], prog_name="gateway"
    )
    print(json.dumps({"code": result.exit_code, "out": result.stdout}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
