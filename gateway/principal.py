"""Who is asking: the companies a request may see and what it may do, decided before any SQL is planned.

Authentication (gateway/identity/authenticate.py) puts one Principal in every request's scope.
`company_scope` applies F&O's rules: the current company only, unless `cross-company=true` asks for
every company the principal may see.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from gateway.errors import Forbidden, InvalidQueryOption, Unauthorized
from gateway.identity.access import SYSTEM_ACCESS, Access


@dataclass(frozen=True)
class Principal:
    name: str
    companies: tuple[str, ...]  # the companies `company=` may choose
    default_company: str
    access: Access = field(default=SYSTEM_ACCESS, compare=False)
    kind: Literal["user", "application", "api-key", "anonymous", "system"] = "system"
    object_id: str = ""  # the token's oid (Entra ID object id), when a token said it


PRINCIPAL_SCOPE_KEY = "fno.principal"  # where authentication leaves the request's Principal in the ASGI scope


def request_principal(scope: Mapping[str, Any]) -> Principal | None:
    """The principal authentication attached to this request (None before authentication ran)."""
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    return principal if isinstance(principal, Principal) else None


def principal_of(scope: Mapping[str, Any]) -> Principal:
    """The request's principal; a request that bypassed authentication is refused, never served."""
    principal = request_principal(scope)
    if principal is None:
        raise Unauthorized("sign in: this service needs a bearer token (Authorization: Bearer <token>)")
    return principal


def user_id(principal: Principal) -> uuid.UUID:
    """The principal as a Dataverse systemuser id (WhoAmI's UserId, EqualUserId's value): stable per name."""
    return _user_id(principal.name.lower())


@lru_cache(maxsize=4096)  # asked on every request; a SHA-1 each time is a measurable part of a key lookup
def _user_id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "fno-gateway:systemuser:" + name)


def current_company(principal: Principal, custom_options: dict[str, str]) -> str:
    """The caller's current company: the one chosen with `company=`, else the configured default."""
    return custom_options.get("company", principal.default_company).lower()


def company_scope(principal: Principal, custom_options: dict[str, str]) -> tuple[str, ...]:
    cross = custom_options.get("cross-company", "false").lower()
    if cross not in ("true", "false"):
        raise InvalidQueryOption(f"cross-company must be true or false, not '{cross}'", target="cross-company")
    company = current_company(principal, custom_options)
    if company not in principal.companies:
        raise Forbidden(
            f"company '{company}' is not one you may see (yours: {', '.join(principal.companies)})", target="company"
        )
    return principal.companies if cross == "true" else (company,)
