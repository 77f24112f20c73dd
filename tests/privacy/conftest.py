"""Fixtures of the privacy tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.privacy.sealed import SealedLog, make_sealed_log


@pytest.fixture
def sealed_log(tmp_path: Path) -> SealedLog:
    return make_sealed_log(tmp_path)
