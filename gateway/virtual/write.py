"""Writes on virtual tables: passed through to the F&O entity's own write path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import NotImplemented_

if TYPE_CHECKING:
    from gateway.virtual.service import VirtualTables


async def write_through(tables: VirtualTables, request: Request, resource_path: str, require_if_match: bool) -> Response:
    raise NotImplemented_("writes on virtual tables are not supported yet")
