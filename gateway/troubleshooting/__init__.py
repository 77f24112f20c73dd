"""Guided troubleshooting: decision trees, resumable sessions and their results.

Trees live in ``automations/troubleshooting/*.yaml`` (``docs/troubleshooting.md``).  Build
the engine with ``gateway.app.open_troubleshooting(config, gateway, executor)``; actions in
trees start workflows through the guarded runtime, never a connector directly.
"""

from gateway.troubleshooting.engine import TroubleshootingEngine
from gateway.troubleshooting.errors import (
    AnswerError,
    FactError,
    SessionStateError,
    SessionStoreError,
    TroubleshootingError,
    UnknownSessionError,
    UnknownTreeError,
)
from gateway.troubleshooting.paths import TreePath, enumerate_paths
from gateway.troubleshooting.report import TreeReport, build_report
from gateway.troubleshooting.session import Session, SessionStatus
from gateway.troubleshooting.tree import Tree, TreeCatalog, load_tree
from gateway.troubleshooting.views import SessionView

__all__ = [
    "AnswerError",
    "FactError",
    "Session",
    "SessionStateError",
    "SessionStatus",
    "SessionStoreError",
    "SessionView",
    "Tree",
    "TreeCatalog",
    "TreePath",
    "TreeReport",
    "TroubleshootingEngine",
    "TroubleshootingError",
    "UnknownSessionError",
    "UnknownTreeError",
    "build_report",
    "enumerate_paths",
    "load_tree",
]
