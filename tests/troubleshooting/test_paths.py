"""``enumerate_paths`` on a tree with loops, free answers and branches ordered by history."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.troubleshooting.errors import TroubleshootingError
from gateway.troubleshooting.paths import enumerate_paths
from gateway.troubleshooting.tree import TreeCatalog
from tests.troubleshooting.lab_tree import LAB_TREE


@pytest.fixture
def lab(tmp_path: Path) -> TreeCatalog:
    (tmp_path / "lab.yaml").write_text(LAB_TREE, encoding="utf-8")
    return TreeCatalog.load(tmp_path)


def test_every_matching_branch_of_a_node_ordered_by_history_is_a_path(lab: TreeCatalog) -> None:
    found = {path.name: path for path in enumerate_paths(lab.get("lab"))}
    a = "ask-kind [branch 2] > ask-count [default] > pick-fix > fix-a"
    b = "ask-kind [branch 2] > ask-count [default] > pick-fix [branch 1] > fix-b"
    assert found[a].as_json()["inputs"] == [
        {"node": "ask-kind", "kind": "answer", "value": "num"},
        {"node": "ask-count", "kind": "answer", "value": 0},
        {"node": "pick-fix", "kind": "prefer", "value": "fix-a"},
    ]
    assert found[b].result == "escalate"
    assert found[b].outcome == "fix-b"
    actions = [p for p in found.values() if any(i.kind == "action" for i in p.inputs)]
    assert sorted(p.outcome for p in actions) == ["escalate-acct", "resolved-acct"]


def test_too_many_paths_are_refused(lab: TreeCatalog) -> None:
    with pytest.raises(TroubleshootingError, match="tree lab has more than 3 paths"):
        enumerate_paths(lab.get("lab"), limit=3)
    with pytest.raises(TroubleshootingError, match="tree lab: too many scenarios to enumerate"):
        enumerate_paths(lab.get("lab"), limit=0)
