"""Security as data: roles, their privileges, and who holds them (entities/security/*.yaml).

A role grants operations (read, create, update, delete) on entity sets of the gateway's services
(`fno` is /data, `dataverse` is /api/data/v9.2, `admin` is /admin/data), optionally only in some
companies (F&O legal entities). Users (matched by a token claim), applications (a token's client id)
and API keys (stored as SHA-256 hashes only) are assigned roles, each assignment optionally limited to
companies, as F&O assigns organizations to a user's role. Loading reports mistakes by file:line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from gateway.catalog.load import (
    DEFAULT_CATALOG,
    CatalogError,
    CatalogProblem,
    Document,
    load_document,
    validate_document,
)
from gateway.catalog.model import _Frozen

DEFAULT_SECURITY = DEFAULT_CATALOG.parent / "security"
SERVICES = ("fno", "dataverse", "admin")
Operation = Literal["read", "create", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("read", "create", "update", "delete")
API_KEY_PREFIX = "fgk_"  # API keys start with this, so a leaked one is recognisable in logs and scanners


class Role(_Frozen):
    description: str = ""
    # {"service:EntitySetPattern": [operations]}; the pattern may use * (fnmatch), e.g. "fno:*".
    privileges: dict[str, list[Operation]] = Field(default_factory=dict)
    # Companies the role works in when an assignment does not say ("*": every company).
    companies: list[str] | Literal["*"] = "*"
    # Dual-write and event administration, and everything under /admin/data.
    admin: bool = False

    @field_validator("privileges")
    @classmethod
    def _known_services(cls, privileges: dict[str, list[Operation]]) -> dict[str, list[Operation]]:
        for target in privileges:
            service, _, pattern = target.partition(":")
            if service not in SERVICES or not pattern:
                raise ValueError(f"'{target}' must be service:EntitySet with service one of {', '.join(SERVICES)}")
        return privileges


class Assignment(_Frozen):
    """One role held by a principal, in some companies (default: the role's own companies)."""

    role: str
    companies: list[str] | Literal["*"] | None = None


class Holder(_Frozen):
    roles: list[str | Assignment] = Field(default_factory=list)
    companies: list[str] | Literal["*"] | None = None  # every assignment's companies unless it names its own
    default_company: str | None = None

    def assignments(self) -> list[Assignment]:
        return [Assignment(role=item, companies=self.companies) if isinstance(item, str)
                else item if item.companies is not None else Assignment(role=item.role, companies=self.companies)
                for item in self.roles]


class User(Holder):
    # Matched against the token's oid, sub, upn, preferred_username or email claim.
    id: str


class Application(Holder):
    # A service principal: matched against the token's appid / azp / client_id claim.
    client_id: str
    name: str = ""


class ApiKey(Holder):
    name: str
    sha256: str  # hex digest of the key: the key itself is never stored

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if len(value) != 64 or any(char not in "0123456789abcdef" for char in value.lower()):
            raise ValueError("sha256 must be the 64 hex digits of the key's SHA-256 digest")
        return value.lower()


class SecurityConfig(_Frozen):
    roles: dict[str, Role] = Field(default_factory=dict)
    users: list[User] = Field(default_factory=list)
    applications: list[Application] = Field(default_factory=list)
    api_keys: list[ApiKey] = Field(default_factory=list)
    # The role callers without credentials get; none by default (401 with a challenge).
    anonymous_role: str | None = None
    # Accept a token's `roles` claim (Entra ID app roles) when it names roles defined here.
    token_roles: bool = True


def hash_api_key(key: str) -> str:
    """API keys are long random strings, so one SHA-256 (no salt, no stretching) is enough at rest."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_security(folder: str | Path = DEFAULT_SECURITY) -> SecurityConfig:
    """Every *.yaml of the folder, merged (roles in one file, people in another), then cross-checked."""
    problems: list[CatalogProblem] = []
    merged: dict[str, dict[str, object] | list[object]] = {}
    scalars: dict[str, object] = {}
    paths = sorted(Path(folder).glob("*.yaml"))
    if not paths:
        raise CatalogError([CatalogProblem(str(folder), 1, "no security files (*.yaml) in this folder")])
    parts: list[tuple[Document, SecurityConfig]] = []
    for path in paths:
        document = load_document(path, problems)
        if document is not None and document.data is None:
            continue
        part = validate_document(SecurityConfig, document, problems)
        if part is None:
            continue
        assert document is not None
        parts.append((document, part))
        merged.setdefault("roles", {}).update(part.roles)  # type: ignore[union-attr]
        for name in ("users", "applications", "api_keys"):
            merged.setdefault(name, []).extend(getattr(part, name))  # type: ignore[union-attr]
        for name in ("anonymous_role", "token_roles"):
            if name in part.model_fields_set:
                scalars[name] = getattr(part, name)
    if problems:
        raise CatalogError(problems)
    config = SecurityConfig(**merged, **scalars)  # type: ignore[arg-type]
    _check_references(config, parts, problems)
    if problems:
        raise CatalogError(problems)
    return config


def _check_references(config: SecurityConfig, parts: list[tuple[Document, SecurityConfig]],
                      problems: list[CatalogProblem]) -> None:
    known = ", ".join(config.roles)
    for document, part in parts:
        for kind in ("users", "applications", "api_keys"):
            for index, holder in enumerate(getattr(part, kind)):
                for assignment in holder.assignments():
                    if assignment.role not in config.roles:
                        problems.append(document.problem(
                            (kind, index, "roles"), f"{kind}[{index}]: unknown role '{assignment.role}' (roles: {known})"))
        if part.anonymous_role is not None and part.anonymous_role not in config.roles:
            problems.append(document.problem(("anonymous_role",), f"anonymous_role: unknown role '{part.anonymous_role}'"))
