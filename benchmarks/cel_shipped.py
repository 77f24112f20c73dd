"""Every condition and template of the shipped definitions, sample scopes, and the outcomes
expected on them.

Used by ``benchmarks.cel_candidates``.  The definitions in ``automations/`` are read with the
project's YAML loader (``gateway.yaml_source.load_yaml``, which keeps the line of every
value) and walked by the same rules as the loaders that parse them:

=================  ==========================================================================
folder             conditions (``when``), values (``provides``) and templates
=================  ==========================================================================
workflows          ``target``; per step ``when``, every string under ``with``,
                   ``schedule.after_hours`` and ``schedule.with``
triggers           per route ``when``, every string under ``with``, ``note``, ``done_note``,
                   ``humans.note``
troubleshooting    per node every string under ``with``, ``summary``, ``provides.*``,
                   ``branches[].when``
catalog            every string under ``with``
=================  ==========================================================================

plus the built-in done note of ``gateway/tickets/progress.py`` (read from its source).  Any
string holding ``{{`` that these rules miss stops the run, so nothing shipped escapes the
comparison.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gateway
from gateway.identity.static import StaticDirectory
from gateway.tickets.routing import facts_scope
from gateway.yaml_source import YamlDocument, load_yaml

REPO = Path(__file__).resolve().parents[1]
AUTOMATIONS = REPO / "automations"

Loc = tuple[str, ...]

EXPECTED = Path(__file__).with_name("cel_expected.json")
"""The outcome of every (text, sample scope): recorded from the home-made language the
definitions were written in before CEL, so that the migration and every upgrade of the
library keep the same answers.  ``python -m benchmarks.cel_candidates --record`` adds the
gateway's answers for a new text or sample (check them), keeps the recorded ones, and drops
those of texts that no longer ship."""


def load_expected() -> dict[tuple[str, str, str, int], tuple[str, Any]]:
    """``(kind, family, text, sample) -> ("ok", value) or ("error", None)``."""
    cases = json.loads(EXPECTED.read_text(encoding="utf-8"))
    return {
        (c["kind"], c["family"], c["text"], c["sample"]): (c["outcome"], c.get("value"))
        for c in cases
    }


PROGRESS = REPO / "gateway" / "tickets" / "progress.py"


@dataclass(frozen=True)
class Site:
    """Where a text is written: file, line, and the path of keys to it."""

    file: str
    line: int
    loc: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Shipped:
    """One distinct text of one kind, evaluated in one family of scopes."""

    kind: str  # "condition" (must be a bool), "value" (provides) or "template"
    family: str  # which sample scopes it is evaluated against
    text: str
    sites: list[Site] = field(default_factory=list)


def _strings(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, str(index)))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _workflow(data: dict[str, Any]) -> Iterator[tuple[str, str, Loc, str]]:
    if isinstance(data.get("target"), str):
        yield "template", "workflow", ("target",), data["target"]
    for index, step in enumerate(data.get("steps") or []):
        at = ("steps", str(index))
        if isinstance(step.get("when"), str):
            yield "condition", "workflow", (*at, "when"), step["when"]
        schedule = _mapping(step.get("schedule"))
        texts = [
            *_strings(step.get("with"), (*at, "with")),
            *_strings(schedule.get("after_hours"), (*at, "schedule", "after_hours")),
            *_strings(schedule.get("with"), (*at, "schedule", "with")),
        ]
        for loc, text in texts:
            yield "template", "workflow", loc, text


def _trigger(data: dict[str, Any]) -> Iterator[tuple[str, str, Loc, str]]:
    for index, route in enumerate(data.get("routes") or []):
        at = ("routes", str(index))
        if isinstance(route.get("when"), str):
            yield "condition", "ticket", (*at, "when"), route["when"]
        for loc, text in _strings(route.get("with"), (*at, "with")):
            yield "template", "ticket", loc, text
        if isinstance(route.get("note"), str):
            yield "template", "ticket", (*at, "note"), route["note"]
        if isinstance(route.get("done_note"), str):
            yield "template", "done", (*at, "done_note"), route["done_note"]
        note = _mapping(route.get("humans")).get("note")
        if isinstance(note, str):
            yield "template", "ticket", (*at, "humans", "note"), note


def _tree(data: dict[str, Any]) -> Iterator[tuple[str, str, Loc, str]]:
    for node_id, node in _mapping(data.get("nodes")).items():
        at = ("nodes", node_id)
        for loc, text in _strings(node.get("with"), (*at, "with")):
            yield "template", "tree", loc, text
        if isinstance(node.get("summary"), str):
            yield "template", "tree", (*at, "summary"), node["summary"]
        for fact, text in _mapping(node.get("provides")).items():
            yield "value", "tree", (*at, "provides", fact), text
        for index, branch in enumerate(node.get("branches") or []):
            if isinstance(branch.get("when"), str):
                yield "condition", "tree", (*at, "branches", str(index), "when"), branch["when"]


def _catalog(data: dict[str, Any]) -> Iterator[tuple[str, str, Loc, str]]:
    for loc, text in _strings(data.get("with"), ("with",)):
        yield "template", "catalog", loc, text


_RULES = {
    "workflows": _workflow,
    "triggers": _trigger,
    "troubleshooting": _tree,
    "catalog": _catalog,
}


def shipped_texts() -> list[Shipped]:
    """The distinct (kind, family, text) of every shipped definition, with their sites."""
    found: dict[tuple[str, str, str], Shipped] = {}

    def add(kind: str, family: str, text: str, site: Site) -> None:
        entry = found.setdefault((kind, family, text), Shipped(kind, family, text))
        entry.sites.append(site)

    for folder, rule in _RULES.items():
        for path in sorted((AUTOMATIONS / folder).glob("*.yaml")):
            document = load_yaml(path)
            name = str(path.relative_to(REPO))
            covered: set[Loc] = set()
            for kind, family, loc, text in rule(_mapping(document.data)):
                covered.add(loc)
                add(kind, family, text, Site(name, document.line_of(loc), ".".join(loc)))
            _check_covered(document, name, covered)
    add("template", "done", *_built_in_done())
    return list(found.values())


def _built_in_done() -> tuple[str, Site]:
    """The done note a route without ``done_note`` gets, read from its module's source."""
    for node in ast.parse(PROGRESS.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "_DEFAULT_DONE" for target in node.targets
        ):
            site = Site(str(PROGRESS.relative_to(REPO)), node.lineno, "_DEFAULT_DONE")
            return str(ast.literal_eval(node.value)), site
    raise SystemExit(f"{PROGRESS}: _DEFAULT_DONE not found")


def _check_covered(document: YamlDocument, name: str, covered: set[Loc]) -> None:
    for loc, text in _strings(document.data, ()):
        if "{{" in text and loc not in covered:
            line = document.line_of(loc)
            raise SystemExit(f"{name}:{line}: a template the extraction rules miss")


# -- sample scopes, per family ---------------------------------------------------------


def _people() -> dict[str, dict[str, Any]]:
    directory = StaticDirectory.load(Path(gateway.__file__).parent / "defaults" / "directory.yaml")
    return {who: facts_scope(directory.get_user(who)) for who in ("tom", "elena", "sam", "lena")}


def _ticket(requester: str, target: str | None, title: str | None, device: str | None) -> Any:
    people = _people()
    return {
        "ticket": {
            "ref": "file:INC0001",
            "number": "INC0001",
            "subject": "please help",
            "description": "",
            "category": "software",
            "fields": {},
        },
        "extracted": {"title": title, "device": device, "usernames": [], "hostnames": []},
        "classification": {"trigger": "sample", "confidence": 0.9},
        "requester": people[requester],
        "target": None if target is None else people[target],
    }


def _alert(scope: dict[str, Any]) -> dict[str, Any]:
    """A ticket that is also a firing alert naming its instance (Alertmanager webhooks)."""
    scope["ticket"] |= {"state": "firing", "fields": {"instance": "printer-3f:9100"}}
    return scope


def _workflow_scope(params: dict[str, Any], changed: bool | None) -> dict[str, Any]:
    steps = (
        {}
        if changed is None
        else {
            name: {"state": "succeeded", "output": {"changed": changed}}
            for name in ("lookup", "grant", "revoke", "unlock", "reset", "install")
        }
    )
    execution = {"id": "ex-0001", "actor": "elena", "channel": "cli", "ticket": None}
    return {"params": params, "steps": steps, "execution": execution}


_PARAMS = {
    "user": "tom",
    "system": "crm",
    "title": "7zip",
    "device": "tom-laptop",
    "article": "vpn-setup",
    "destination": "folder",
    "alertname": "TargetDown",
    "instance": "printer-3f:9100",
    "summary": "printer-3f does not answer",
}


def _tree_scope(client: str, result: dict[str, Any]) -> dict[str, Any]:
    facts = {
        "client": client,
        "user": "tom",
        "device": "tom-laptop",
        "printer": "printer-3f",
        "site_host": "intranet.example.com",
        "gateway_ip": "192.0.2.1",
        "symptom": "cannot_send",
        "unlock": {"state": "failed"},
        "driver_install": {"state": "failed"},
    }
    return {"facts": facts, "result": {"status": "ok", "detail": "", **result}}


def sample_scopes() -> dict[str, list[dict[str, Any]]]:
    """A few scopes per family, covering each branch of every shipped condition."""
    done_params = {"user": "tom", "title": "7zip", "device": "tom-laptop"}
    execution = {"id": "ex-0001", "workflow": "software-install", "actor": "elena", "ticket": "x"}
    return {
        "workflow": [
            _workflow_scope(
                {**_PARAMS, "duration_hours": 8, "reason": "grant_expired", "must_change": True},
                changed=True,
            ),
            _workflow_scope({**_PARAMS, "reason": "requested", "must_change": False}, False),
            _workflow_scope({**_PARAMS, "reason": "requested"}, changed=None),
        ],
        "ticket": [
            _alert(_ticket("tom", "tom", "7zip", "tom-laptop")),
            _ticket("elena", "tom", None, None),
            _ticket("tom", "sam", "7zip", None),
            _ticket("elena", "lena", None, "tom-laptop"),
            _ticket("tom", None, None, None),
        ],
        "done": [
            {"execution": execution, "params": done_params},
            {"execution": {**execution, "ticket": None}, "params": {"user": "lena"}},
        ],
        "tree": [
            _tree_scope(
                "outlook", {"ok": True, "status_code": 200, "redirect": None, "found": True}
            ),
            _tree_scope(
                "webmail",
                {
                    "ok": False,
                    "status_code": 407,
                    "found": False,
                    "redirect": "https://portal.example.com/",
                },
            ),
            _tree_scope("phone", {"ok": False, "status": "failed", "detail": "timeout"}),
            # an HTTP check that got no answer (diagnostics.py reports status_code None)
            _tree_scope(
                "outlook", {"ok": False, "status": "failed", "status_code": None, "redirect": None}
            ),
        ],
        "catalog": [
            {
                "params": {"system": "crm", "hours": 8, "title": "7zip"},
                "actor": "tom",
                "target": "tom-laptop",
            },
            {"params": {"account": "tom"}, "actor": "tom", "target": None},
        ],
    }
