"""What a technician is shown: the session, the question to answer now, and notices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.troubleshooting.model import QuestionNode
from gateway.troubleshooting.session import Session, SessionStatus
from gateway.troubleshooting.tree import Tree

__all__ = ["Prompt", "SessionView", "prompt_for"]


@dataclass(frozen=True, slots=True)
class Prompt:
    """The question the session waits on; ``choices`` best first when the tree orders them
    by success rate."""

    node: str
    text: str
    help: str
    answer: str
    choices: tuple[Any, ...]
    fact: str

    def as_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "text": self.text,
            "help": self.help,
            "answer": self.answer,
            "choices": list(self.choices),
            "fact": self.fact,
        }


@dataclass(frozen=True, slots=True)
class SessionView:
    session: Session
    tree_title: str
    prompt: Prompt | None
    notice: str | None = None  # the tree changed since the session started, ...

    def as_json(self) -> dict[str, Any]:
        return {
            **self.session.as_json(),
            "tree_title": self.tree_title,
            "prompt": None if self.prompt is None else self.prompt.as_json(),
            "notice": self.notice,
        }


def prompt_for(session: Session, tree: Tree, rates: Mapping[str, float] | None) -> Prompt | None:
    """The question to answer now, if the session waits on one."""
    if session.status is not SessionStatus.ACTIVE:
        return None
    node = tree.node(session.current)
    if not isinstance(node, QuestionNode):
        return None
    choices: list[Any] = list(node.choices)
    if rates and node.order == "success_rate":
        target = {str(b.equals): b.goto for b in node.branches if b.equals is not None}
        position = {str(choice): index for index, choice in enumerate(choices)}
        choices.sort(key=lambda c: (-rates.get(target.get(str(c), ""), -1.0), position[str(c)]))
    return Prompt(session.current, node.text, node.help, node.answer, tuple(choices), node.fact)
