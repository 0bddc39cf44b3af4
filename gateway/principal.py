"""Who is asking: the companies a request may see, decided before any SQL is planned.

The demo runs as a configured development principal. `company_scope` applies F&O's rules: the
current company only, unless `cross-company=true` asks for every company the principal may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.errors import Forbidden, InvalidQueryOption


@dataclass(frozen=True)
class Principal:
    name: str
    companies: tuple[str, ...]
    default_company: str


PRINCIPAL_SCOPE_KEY = "fno.principal"  # where authentication leaves the request's Principal in the ASGI scope


def request_principal(scope: dict[str, Any]) -> Principal | None:
    """The principal authentication attached to this request (None before authentication ran)."""
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    return principal if isinstance(principal, Principal) else None


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
