"""Configuration of the LDAP identity source (OpenLDAP or Active Directory).

Only ``urls``, ``bind_dn``, ``bind_password`` (from the environment variable named by
``bind_password_env``) and ``base_dn`` are required;
the attribute mapping defaults to the flavor's usual schema (``inetOrgPerson`` with the
ppolicy overlay for OpenLDAP, ``user`` for Active Directory) and may override single keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.errors import ConfigError
from gateway.secrets import EnvSecret, EnvSecrets

__all__ = ["LdapAttributes", "LdapSettings", "default_attributes"]

Flavor = Literal["openldap", "active_directory"]


class LdapAttributes(BaseModel):
    """Which directory attribute holds which fact (names are case-insensitive)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_object_class: str
    group_object_class: str
    username: str
    email: str = "mail"
    display_name: tuple[str, ...] = ("displayName", "cn")  # the first one present wins
    department: tuple[str, ...] = ("departmentNumber", "ou")
    title: str = "title"
    manager: str = "manager"  # a DN, resolved to the manager's username
    location: str = "l"
    employee_type: str = "employeeType"
    changed_at: str = "modifyTimestamp"
    password_changed_at: str = "pwdChangedTime"  # noqa: S105 - an attribute name
    group_name: str = "cn"
    member: str = "member"
    locked: str | None = "pwdAccountLockedTime"  # present means locked
    disabled: str | None = None  # OpenLDAP: an attribute whose value marks a disabled user
    disabled_value: str = "TRUE"
    must_change: str | None = None  # e.g. "pwdReset", set to TRUE by a forced reset


def default_attributes(flavor: Flavor) -> dict[str, Any]:
    """The mapping a flavor starts from, before the configured overrides."""
    if flavor == "active_directory":
        return {
            "user_object_class": "user",
            "group_object_class": "group",
            "username": "sAMAccountName",
            "department": ("department",),
            "changed_at": "whenChanged",
            "password_changed_at": "pwdLastSet",
            "locked": "lockoutTime",
        }
    return {
        "user_object_class": "inetOrgPerson",
        "group_object_class": "groupOfNames",
        "username": "uid",
        "disabled": "shadowExpire",
        "disabled_value": "1",
    }


class LdapSettings(EnvSecrets):
    """How to reach and read one directory (``[identity.ldap]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets = ("bind_password",)

    name: str = "ldap"
    urls: list[str] = Field(min_length=1)  # several: failover in this order
    flavor: Flavor = "openldap"
    bind_dn: str
    bind_password: EnvSecret = None
    bind_password_env: str | None = Field(default=None, min_length=1)
    base_dn: str
    user_base: str = ""  # default: base_dn
    group_base: str = ""  # default: base_dn
    start_tls: bool = False
    ca_file: Path | None = None
    timeout_seconds: int = Field(default=10, ge=1, le=300)
    page_size: int = Field(default=500, ge=1, le=10_000)
    pool_size: int = Field(default=4, ge=1, le=64)
    privileged_groups: list[str] = Field(default=[])
    nested_groups: Literal["in_chain", "iterative"] | None = None  # None: by flavor
    max_group_depth: int = Field(default=16, ge=1)
    max_groups: int = Field(default=1000, ge=1)
    attributes: LdapAttributes

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        filled = dict(data)
        flavor = filled.get("flavor", "openldap")
        overrides = filled.get("attributes") or {}
        if isinstance(overrides, Mapping) and flavor in ("openldap", "active_directory"):
            filled["attributes"] = {**default_attributes(flavor), **overrides}
        for key in ("user_base", "group_base"):
            if not filled.get(key):
                filled[key] = filled.get("base_dn", "")
        return filled

    @model_validator(mode="after")
    def _check_urls(self) -> LdapSettings:
        for url in self.urls:
            if not url.lower().startswith(("ldap://", "ldaps://")):
                raise ValueError(f"urls: expected ldap:// or ldaps://, found {url!r}")
        if self.nested_groups == "in_chain" and self.flavor != "active_directory":
            # OpenLDAP treats the unknown rule as no match: every user would lose its groups
            raise ValueError("nested_groups: in_chain needs flavor active_directory")
        return self

    @property
    def encrypted(self) -> bool:
        """Whether every connection is encrypted (LDAPS or StartTLS)."""
        return self.start_tls or all(url.lower().startswith("ldaps://") for url in self.urls)

    @classmethod
    def load(cls, data: Mapping[str, Any], where: str = "ldap") -> LdapSettings:
        """Validate configuration data; errors name each field, never a value."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
                for error in exc.errors(include_url=False, include_input=False)
            )
            raise ConfigError(f"{where}: invalid LDAP settings: {details}") from exc
