"""Links behind a reverse proxy: X-Forwarded-Host and -Proto, from trusted proxies only.

Every link the gateway writes (@odata.context, @odata.nextLink, @odata.id, Location, OData-EntityId)
is made from the request's scheme and Host header. Behind a proxy those are the proxy's own, so the
proxy's X-Forwarded-Host and X-Forwarded-Proto say what the client used, but any client can send
those headers too: they are honoured only from the addresses of --trusted-proxies (empty: nobody).

X-Forwarded-Proto and X-Forwarded-For are uvicorn's ProxyHeadersMiddleware's work, reused here with
the same addresses; uvicorn does not read X-Forwarded-Host, which this layer adds. X-Forwarded-Prefix
is not honoured: the gateway serves fixed paths (/data, /api/data/v9.2) that clients also send back
in $batch references and @odata.id values; a proxy that moves them must rewrite them itself.

uvicorn's own copy of that middleware (`--proxy-headers`, on by default for 127.0.0.1) runs before
the app and replaces the client address with X-Forwarded-For's: `fno-gateway serve` must start
uvicorn with proxy_headers=False so that this layer sees the proxy's address.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway.edge.middleware import ASGIApp
from gateway.errors import ServiceMisconfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# host[:port] as a Host header may carry it (a name, IPv4, or [IPv6]): nothing that could bend a URL.
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def trusted_networks(setting: str) -> list[Network] | None:
    """The --trusted-proxies addresses and CIDRs ('*': any sender); None when empty. A mistake stops
    the start (uvicorn would silently treat it as a name that never matches)."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    if not entries:
        return None
    if entries == ["*"]:
        return [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ServiceMisconfigured(f"--trusted-proxies: {entry!r} is not an IP address or CIDR "
                                       "(e.g. 10.0.0.5, 10.0.0.0/8, ::1, or '*')") from None
    return networks


def is_trusted(scope: dict[str, Any], networks: list[Network]) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False  # a unix socket or a test client's name: no address to trust
    return any(address in network for network in networks)


def last_value(scope: dict[str, Any], name: bytes) -> str | None:
    """The value the nearest proxy added: the last of a comma-separated list (earlier ones came
    from further away, possibly from the client)."""
    values = [value for key, value in scope["headers"] if key == name]
    if not values:
        return None
    return values[-1].decode("latin-1").split(",")[-1].strip()


class ForwardedMiddleware:
    def __init__(self, app: ASGIApp, networks: list[Network]) -> None:
        self.app = app
        self.networks = networks
        # Proto and For: uvicorn's, trusting the same senders (it takes CIDRs since 0.30).
        self.proxied = ProxyHeadersMiddleware(app,  # type: ignore[arg-type]
                                              trusted_hosts=[str(network) for network in networks])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # A $batch sub-request inherits its batch's host and scheme; its own headers come from the
        # client's batch body, never from a proxy.
        if scope["type"] != "http" or scope.get("fno.batch") or not is_trusted(scope, self.networks):
            await self.app(scope, receive, send)
            return
        host = last_value(scope, b"x-forwarded-host")
        if host is not None and _HOST.match(host):
            scope["headers"] = [(key, value) for key, value in scope["headers"] if key != b"host"]
            scope["headers"].append((b"host", host.encode("latin-1")))
        await self.proxied(scope, receive, send)


def forwarded_middleware(setting: str) -> Middleware | None:
    """The layer for --trusted-proxies, or None when no proxy is trusted."""
    networks = trusted_networks(setting)
    return None if networks is None else Middleware(ForwardedMiddleware, networks=networks)
