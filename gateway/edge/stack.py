"""Starlette with layers outside its own ServerErrorMiddleware.

Starlette puts the handler of unhandled exceptions (the 500) outside every user middleware, so a
500 would miss headers that a user middleware adds. The edge layers (request id, security headers,
CORS) wrap the whole stack instead: every answer passes through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp


class EdgeStarlette(Starlette):
    def __init__(self, *args: Any, edge: Sequence[Middleware] = (), **kwargs: Any) -> None:
        self.edge = list(edge)  # outermost first
        super().__init__(*args, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for cls, args, kwargs in reversed(self.edge):
            app = cls(app, *args, **kwargs)
        return app
