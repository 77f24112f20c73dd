"""The runtime action ``kb.publish``: publishing an article goes through the guarded path.

``kb.publish`` is privileged: the decision point is asked for permission ``kb.publish`` on
``article:<id>`` (the shipped policies allow the helpdesk group), the call is audited
before and after, and a knowledge base that is down (``TargetUnavailableError``) leaves
the execution ``waiting_for_target`` until it is back.  The composition root registers
the actions with ``*knowledge_actions(open_base)``; the workflow is
``automations/workflows/kb-publish.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.errors import ActionFailedError
from gateway.knowledge.base import FOLDER, KnowledgeBase
from gateway.knowledge.errors import KnowledgeError
from gateway.runtime.actions import ActionCall, ActionOutput, ActionSpec
from gateway.runtime.parameters import ParameterSpec, Values

__all__ = ["DESTINATIONS", "knowledge_actions"]

DESTINATIONS = [FOLDER, "servicenow", "confluence"]
_ARTICLE = ParameterSpec(pattern=r"[a-z0-9][a-z0-9-]{0,99}", max_length=100)
_DESTINATION = ParameterSpec(enum=DESTINATIONS, default=FOLDER)


def knowledge_actions(open_base: Callable[[], KnowledgeBase]) -> list[ActionSpec]:
    """``kb.publish``, opening the knowledge base with ``open_base`` for each call."""

    def publish(call: ActionCall) -> ActionOutput:
        article, destination = call.parameters["article"], call.parameters["destination"]
        try:
            base = open_base()
        except KnowledgeError as exc:
            raise ActionFailedError(str(exc)) from None
        try:
            copy = base.publish(article, destination)
        except KnowledgeError as exc:
            raise ActionFailedError(str(exc)) from None
        finally:
            base.close()
        return ActionOutput(
            values={
                "article": article,
                "destination": destination,
                "version": copy.version,
                "remote_id": copy.id,
                "url": copy.url,
            },
            detail=f"article {article} version {copy.version} published to {destination}",
        )

    def resource(params: Values) -> str:
        return f"article:{params['article']}"

    def target(params: Values) -> str:
        return f"article:{params['article']}:{params['destination']}"

    return [
        ActionSpec(
            name="kb.publish",
            description="publish a knowledge base article (its current version)",
            run=publish,
            parameters={"article": _ARTICLE, "destination": _DESTINATION},
            permission="kb.publish",
            resource=resource,
            target=target,
            idempotent=True,  # a publication run again updates the same record or page
            timeout_seconds=60.0,
            system="knowledge base",
        )
    ]
