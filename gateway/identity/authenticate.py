"""Authentication: every request to a service becomes a Principal before any route runs.

Credentials, in order: `Authorization: Bearer <JWT>` (verified by TokenVerifier), `X-API-Key: <key>`
(a service principal, matched by the key's SHA-256), none (the configured anonymous role, or a 401
whose `WWW-Authenticate: Bearer authorization_uri="…", resource_id="…"` is how Power Query and Excel
find where to sign in). $batch sub-requests carry their batch's principal and are not authenticated
again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.errors import Unauthorized
from gateway.identity.access import assignment_companies, compile_access
from gateway.identity.config import Assignment, Holder, SecurityConfig, hash_api_key
from gateway.identity.tokens import TokenVerifier
from gateway.principal import PRINCIPAL_SCOPE_KEY, Principal
from gateway.protect.respond import is_served, send_error
from grammar.cache import BoundedCache

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
USER_CLAIMS = ("oid", "sub", "upn", "preferred_username", "email", "unique_name")
APPLICATION_CLAIMS = ("appid", "azp", "client_id")
API_KEY_HEADER = "x-api-key"


@dataclass(frozen=True)
class Challenge:
    authorization_uri: str
    resource_id: str

    def header(self, error: Unauthorized | None = None) -> str:
        value = f'Bearer authorization_uri="{self.authorization_uri}", resource_id="{self.resource_id}"'
        if error is not None and error.error_code:
            description = error.message.replace('"', "'")
            value += f', error="{error.error_code}", error_description="{description}"'
        return value


class Authenticator:
    def __init__(self, config: SecurityConfig, verifier: TokenVerifier | None, challenge: Challenge,
                 every_company: tuple[str, ...], default_company: str, anonymous_role: str | None) -> None:
        self.config = config
        self.verifier = verifier
        self.challenge = challenge
        self.every_company = every_company
        self.default_company = default_company
        self.anonymous_role = anonymous_role
        self._users = {user.id.lower(): user for user in config.users}
        self._applications = {application.client_id.lower(): application for application in config.applications}
        self._api_keys = {key.sha256: key for key in config.api_keys}
        # Principals are compiled once per identity and role set, then shared (bounded: names are few).
        self._principals: BoundedCache[Principal] = BoundedCache(10_000, 16 << 20, lambda key, value: 2048)

    def principal(self, headers: dict[str, str]) -> Principal:
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise Unauthorized("the Authorization header must be 'Bearer <token>'", error_code="invalid_request")
            return self._from_token(credentials.strip())
        api_key = headers.get(API_KEY_HEADER)
        if api_key is not None:
            found = self._api_keys.get(hash_api_key(api_key.strip()))
            if found is None:
                raise Unauthorized("the API key is not known", error_code="invalid_token")
            return self._principal("api-key", f"apikey:{found.name}", found, ())
        if self.anonymous_role is not None:
            holder = Holder(roles=[self.anonymous_role])
            return self._principal("anonymous", "anonymous", holder, ())
        raise Unauthorized("sign in: this service needs a bearer token (Authorization: Bearer <token>)")

    def _from_token(self, token: str) -> Principal:
        if self.verifier is None:
            raise Unauthorized("this gateway accepts no bearer tokens (no JWKS configured)", error_code="invalid_token")
        claims = self.verifier.claims(token)
        token_roles: tuple[str, ...] = ()
        if self.config.token_roles and isinstance(claims.get("roles"), list):
            token_roles = tuple(sorted(str(role) for role in claims["roles"] if str(role) in self.config.roles))
        object_id = str(claims.get("oid", ""))
        for name in USER_CLAIMS:
            user = self._users.get(str(claims.get(name, "")).lower()) if claims.get(name) else None
            if user is not None:
                return self._principal("user", user.id, user, token_roles, object_id)
        for name in APPLICATION_CLAIMS:
            application = self._applications.get(str(claims.get(name, "")).lower()) if claims.get(name) else None
            if application is not None:
                label = application.name or application.client_id
                return self._principal("application", f"app:{label}", application, token_roles, object_id)
        subject = next((str(claims[name]) for name in ("upn", "preferred_username", "sub") if claims.get(name)), "")
        return self._principal("user", subject or object_id or "unknown", Holder(), token_roles, object_id)

    def _principal(self, kind: Any, name: str, holder: Holder, token_roles: tuple[str, ...],
                   object_id: str = "") -> Principal:
        return self._principals.get((kind, name, token_roles, object_id),
                                    lambda: self._compile(kind, name, holder, token_roles, object_id))

    def _compile(self, kind: Any, name: str, holder: Holder, token_roles: tuple[str, ...],
                 object_id: str) -> Principal:
        assignments = holder.assignments()
        held = {assignment.role for assignment in assignments}
        assignments += [Assignment(role=role, companies=holder.companies) for role in token_roles if role not in held]
        companies = assignment_companies(self.config, assignments, self.every_company)
        default = (holder.default_company or self.default_company).lower()
        if default not in companies and companies:
            default = companies[0]
        return Principal(name, companies, default, compile_access(self.config, assignments), kind, object_id)


class AuthenticationMiddleware:
    """Puts the request's Principal into its scope, or answers 401 with the challenge."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.authenticator = authenticator
        self.prefixes = prefixes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or PRINCIPAL_SCOPE_KEY in scope or not is_served(scope["path"], self.prefixes):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        try:
            scope[PRINCIPAL_SCOPE_KEY] = self.authenticator.principal(headers)
        except Unauthorized as error:
            await self._refuse(error, send, "authorization" in headers or API_KEY_HEADER in headers, scope["path"])
            return
        await self.app(scope, receive, send)

    async def _refuse(self, error: Unauthorized, send: Any, had_credentials: bool, path: str) -> None:
        challenge = self.authenticator.challenge.header(error if had_credentials else None)
        error.headers["WWW-Authenticate"] = challenge.encode("latin-1", "replace").decode("latin-1")
        await send_error(send, error, path)
