"""Fixtures every test folder may use."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that lets files be made group- and world-readable (0022, a common default),
    so that a test of file modes shows what the gateway asks for, not what the runner's
    umask happens to allow."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)
