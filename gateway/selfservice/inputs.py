"""What a person gives a catalog item, checked before anything else happens.

Each value is checked by the runtime's parameter model built from the item's definition
(type, pattern, length, range, enum; secrets kept apart and never echoed), then against
its source when it has one: ``approved_software`` (a ``software:<title>`` resource of the
directory with ``approved: true``) or ``devices`` (a device of the inventory).  A list
parameter takes several values (JSON list, or comma-separated text from a command line).
``ParameterError`` names every parameter that is wrong, why, and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import SecretStr

from gateway.devices.inventory import DeviceInventory
from gateway.identity.directory import DirectoryConnector
from gateway.runtime.errors import ParameterError
from gateway.runtime.parameters import ParameterSet
from gateway.selfservice.catalog import CatalogItem
from gateway.selfservice.definitions import CatalogParameter

__all__ = ["ApprovedSoftware", "CheckedInput", "InventoryDevices", "ValueSource", "check_input"]


class ValueSource(Protocol):
    """Where the allowed values of a parameter come from."""

    what: str  # in words, for errors: "an approved title of the software catalog"

    def contains(self, value: str, actor: str) -> bool: ...

    def choices(self, actor: str) -> list[str]: ...


class ApprovedSoftware:
    """Titles the directory knows as ``software:<title>`` with ``approved: true``."""

    what = "an approved title of the software catalog"

    def __init__(self, directory: DirectoryConnector, listed: list[str]) -> None:
        self._directory = directory
        self._listed = list(listed)  # the titles the directory file names, for help texts

    def contains(self, value: str, actor: str) -> bool:
        facts = self._directory.get_resource("software", value)
        return facts is not None and facts.attributes.get("approved") is True

    def choices(self, actor: str) -> list[str]:
        return [title for title in self._listed if self.contains(title, actor)]


class InventoryDevices:
    """Devices of the inventory; the choices offered are the person's own."""

    what = "a managed device of the inventory"

    def __init__(self, inventory: DeviceInventory) -> None:
        self._inventory = inventory

    def contains(self, value: str, actor: str) -> bool:
        return self._inventory.owner_of(value) is not None

    def choices(self, actor: str) -> list[str]:
        return self._inventory.devices_of(actor)


@dataclass(frozen=True, slots=True)
class CheckedInput:
    """Checked values; secrets apart; ``targets`` the values of the target parameter."""

    plain: dict[str, Any]
    secrets: dict[str, SecretStr]
    targets: tuple[str, ...]


def _items(raw: object) -> list[object]:
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, list):
        return list(raw)
    return [raw]


def _check_list(
    name: str, parameter: CatalogParameter, raw: object, problems: dict[str, str]
) -> list[str]:
    values = _items(raw)
    if not values:
        problems[name] = f"required (a list of {parameter.spec().allowed()})"
        return []
    if len(values) > parameter.max_items:
        problems[name] = f"at most {parameter.max_items} values, found {len(values)}"
        return []
    checker = ParameterSet(name, {name: parameter.spec()})
    checked: list[str] = []
    for index, value in enumerate(values, start=1):
        try:
            plain, _ = checker.validate({name: value})
        except ParameterError as exc:
            problems[name] = f"value {index}: {exc.problems[name]}"
            return []
        if plain[name] not in checked:
            checked.append(str(plain[name]))
    return checked


def check_input(
    item: CatalogItem,
    given: Mapping[str, object],
    actor: str,
    sources: Mapping[str, ValueSource],
) -> CheckedInput:
    """The checked values of ``given`` for ``item``, or ``ParameterError``."""
    definition = item.definition
    subject = f"catalog item {item.id}"
    problems: dict[str, str] = {}
    for name in given:
        if name not in definition.parameters:
            known = ", ".join(sorted(definition.parameters)) or "none"
            problems[str(name)[:64]] = f"not a parameter of {subject} (known: {known})"
    scalars = {n: p.spec() for n, p in definition.parameters.items() if p.type != "list"}
    plain: dict[str, Any] = {}
    secrets: dict[str, SecretStr] = {}
    try:
        plain, secrets = ParameterSet(subject, scalars).validate(
            {n: v for n, v in given.items() if n in scalars}
        )
    except ParameterError as exc:
        problems.update(exc.problems)
    for name, parameter in definition.parameters.items():
        if parameter.type != "list":
            continue
        if given.get(name) is None:
            if parameter.is_required:
                problems[name] = f"required (a list of {parameter.spec().allowed()})"
            continue
        plain[name] = _check_list(name, parameter, given[name], problems)
    for name, parameter in definition.parameters.items():
        if parameter.source is None or name in problems or name not in plain:
            continue
        source = sources.get(parameter.source)
        if source is None:  # fail closed: values that cannot be checked are refused
            problems[name] = f"its allowed values ({parameter.source}) cannot be read"
            continue
        values = plain[name] if isinstance(plain[name], list) else [plain[name]]
        for value in values:
            if not source.contains(str(value), actor):
                choices = source.choices(actor)
                allowed = f" (allowed: {', '.join(choices)})" if choices else ""
                problems[name] = f"{str(value)[:64]!r} is not {source.what}{allowed}"
                break
    if problems:
        raise ParameterError(subject, problems)
    targets: tuple[str, ...] = ()
    if definition.target is not None and definition.target in plain:
        value = plain[definition.target]
        targets = tuple(value) if isinstance(value, list) else (str(value),)
    return CheckedInput(plain, secrets, targets)
