"""`fno-gateway token` and `fno-gateway apikey`: credentials for development and for service principals."""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from gateway.identity.config import API_KEY_PREFIX, hash_api_key
from gateway.identity.tokens import mint_token
from gateway.settings import HELP, Settings


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    token = commands.add_parser("token", help="mint a development bearer token, signed by the local --dev-key",
                                description="Prints a JWT the gateway accepts when --auth-jwks is empty "
                                "(it trusts --dev-key). Send it as 'Authorization: Bearer <token>'.")
    token.add_argument("--sub", default="developer", help="the subject (a user id of the security files, or any name)")
    token.add_argument("--roles", nargs="*", default=[], metavar="ROLE",
                       help="roles claim: roles of the security files the token grants")
    token.add_argument("--minutes", type=float, default=60.0, help="lifetime (default: 60)")
    token.add_argument("--appid", default="", help="a client id: the token is an application's (service principal's)")
    for name in ("dev_key", "auth_issuer", "auth_audience"):
        default = getattr(Settings, name)
        token.add_argument("--" + name.replace("_", "-"), dest=name, default=default,
                           help=f"{HELP[name]} (default: {default!r})")
    apikey = commands.add_parser("apikey", help="make an API key for a service principal",
                                 description="Prints a new key (shown once) and the entry to add to the "
                                 "security files' api_keys: only its SHA-256 is stored.")
    apikey.add_argument("name", help="the key's name (audit and logs show it)")
    apikey.add_argument("--roles", nargs="+", default=["DataReader"], metavar="ROLE", help="roles it holds")


def run_token(arguments: argparse.Namespace) -> int:
    claims = {"appid": arguments.appid} if arguments.appid else {}
    print(mint_token(Path(arguments.dev_key), arguments.auth_issuer, arguments.auth_audience, arguments.sub,
                     arguments.roles, arguments.minutes, claims))
    return 0


def run_apikey(arguments: argparse.Namespace) -> int:
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    print(key)
    print("# add to api_keys in your security files (entities/security/*.yaml), then send 'X-API-Key: <key>':",
          file=sys.stderr)
    print(f"  - name: {arguments.name}\n    sha256: {hash_api_key(key)}\n    roles: [{', '.join(arguments.roles)}]",
          file=sys.stderr)
    return 0
