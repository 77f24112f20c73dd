"""Settings of resolution documentation and the knowledge base (``[knowledge]`` in
``gateway.toml``), in a module that imports pydantic only."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gateway.knowledge.connectors.settings import ConfluenceSettings, ServiceNowKnowledgeSettings

__all__ = ["KnowledgeConfig"]


class KnowledgeConfig(BaseModel):
    """Resolution documentation and the knowledge base (``docs/knowledge.md``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    articles: Path = Path("var/knowledge")  # Markdown files with front matter
    index: Path = Path("var/knowledge.db")  # SQLite FTS5 search index
    templates: Path | None = None  # a folder of Jinja2 templates overriding the shipped ones
    redact_names: bool = False
    redact_ip_addresses: bool = False
    redact_emails: bool = True
    redact_phone_numbers: bool = True
    names: list[str] = Field(default=[])  # more names to take out when redact_names is on
    similarity_threshold: float = Field(default=0.5, gt=0, le=1)  # same problem at or above
    servicenow: ServiceNowKnowledgeSettings | None = None  # kb_knowledge, the Table API
    confluence: ConfluenceSettings | None = None
