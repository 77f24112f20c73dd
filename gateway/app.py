"""The composition root: builds the gateway's parts from configuration, nothing else."""

from __future__ import annotations

from gateway.config import GatewayConfig, load_config
from gateway.errors import UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.static import StaticDirectory
from gateway.policy.decision import Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.request import AccessRequest
from gateway.policy.store import PolicyStore

__all__ = ["Gateway"]


class Gateway:
    """The gateway as a Python caller sees it: ask for a decision, get one you can trust."""

    def __init__(self, policies: PolicyStore, directory: DirectoryConnector) -> None:
        self.policies = policies
        self.directory = directory
        self.decision_point = PolicyDecisionPoint(lambda: policies.engine)

    @classmethod
    def from_config(cls, config: GatewayConfig | None = None) -> Gateway:
        config = config if config is not None else load_config()
        directory = StaticDirectory.load(config.identity.static_file)
        return cls(PolicyStore(config.policy.dir), directory)

    def authorize(self, request: AccessRequest) -> Decision:
        """Decide ``request`` with the actor's and the resource's directory facts."""
        try:
            actor = self.directory.get_user(request.actor)
        except UnknownActorError:
            actor = None
        resource = self.directory.get_resource(request.resource.type, request.resource.id)
        return self.decision_point.decide(request, actor, resource)
