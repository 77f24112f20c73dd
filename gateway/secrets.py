"""Secrets of connector settings: named in the configuration file, read from the
environment when the connector is built.

A settings model holds each secret ``x`` as an ``EnvSecret`` field next to ``x_env``, the
name of the environment variable that holds it:

* loaded from the configuration file (validated with ``FILE_CONTEXT``), a value for ``x``
  itself is refused: secrets never go in the file;
* ``settings.with_secrets("section.table")`` is the copy the connector is built from, each
  ``x`` read from the variable ``x_env`` names; errors name the setting and the variable,
  never a value;
* Python callers (and tests) may still pass ``x`` directly.

This module imports pydantic only, so that loading the configuration stays light.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    SecretStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from gateway.errors import ConfigError

__all__ = ["FILE_CONTEXT", "EnvSecret", "EnvSecrets"]

FILE_CONTEXT = {"configuration_file": True}
"""The validation context of the configuration file: secrets written in it are refused."""


def _refuse_in_file(value: object, info: ValidationInfo) -> object:
    if info.context and info.context.get("configuration_file"):
        raise ValueError(
            "secrets never go in the configuration file; put it in an environment "
            f"variable and name it in {info.field_name}_env"
        )
    return value


EnvSecret = Annotated[SecretStr | None, BeforeValidator(_refuse_in_file)]
"""A secret field, given directly by Python callers or read from the ``<name>_env`` variable."""


class EnvSecrets(BaseModel):
    """Settings whose secrets (each ``EnvSecret`` field ``x`` beside ``x_env``) come from
    the environment.  ``required_secrets`` must be given, directly or by ``x_env``."""

    required_secrets: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _check_required_secrets(self) -> Self:
        for name in self.required_secrets:
            if not self.names_secret(name):
                raise ValueError(f"{name}_env: name the environment variable holding {name}")
        return self

    @classmethod
    def secret_names(cls) -> tuple[str, ...]:
        """The secret fields: each field ``x`` with an ``x_env`` beside it."""
        return tuple(name for name in cls.model_fields if f"{name}_env" in cls.model_fields)

    def names_secret(self, name: str) -> bool:
        """Whether ``name`` is given, directly or by its environment variable."""
        return getattr(self, name) is not None or getattr(self, f"{name}_env") is not None

    def with_secrets(self, section: str) -> Self:
        """A copy with each secret whose ``<name>_env`` is set read from that variable;
        ``ConfigError`` naming ``section``, the setting and the variable when it is not set
        or its value is refused (never showing the value)."""
        update: dict[str, Any] = {}
        for name in self.secret_names():
            variable = getattr(self, f"{name}_env")
            if variable is None:
                continue
            value = os.environ.get(variable)
            if not value:
                raise ConfigError(
                    f"{section}.{name}_env: environment variable {variable} is not set"
                )
            update[name] = SecretStr(value)
        if not update:
            return self
        try:
            return self.model_validate({**dict(self), **update})
        except ValidationError as exc:
            details = "; ".join(
                f"{section}.{'.'.join(str(part) for part in error['loc']) or '(table)'}: "
                f"{error['msg']}"
                for error in exc.errors(
                    include_url=False, include_input=False, include_context=False
                )
            )
            raise ConfigError(f"invalid {section} settings: {details}") from None

    def secret(self, name: str) -> SecretStr:
        """The secret ``name``; ``ConfigError`` when it was only named in ``<name>_env``
        (``with_secrets`` reads it)."""
        value = getattr(self, name)
        if value is None:
            raise ConfigError(f"{name}: not read from the environment variable named in {name}_env")
        return value  # type: ignore[no-any-return]
