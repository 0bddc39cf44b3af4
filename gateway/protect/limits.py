"""The protection limits, read once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings import Settings


@dataclass(frozen=True)
class PrincipalLimits:
    """Per principal, as F&O and Dataverse document them (0 switches a limit off)."""

    window_seconds: float = 300.0
    requests: int = 6000
    execution_seconds: float = 1200.0
    concurrency: int = 52


@dataclass(frozen=True)
class GateLimits:
    slots: int = 4  # requests served at once (0: no gate)
    queue: int = 64
    wait_seconds: float = 10.0
    share: float = 0.5  # of the slots and the queue, per principal


@dataclass(frozen=True)
class RequestLimits:
    """What one request may ask for."""

    url_length: int = 8192
    top: int = 100000
    expand_depth: int = 4
    expanded_rows: int = 100000


@dataclass(frozen=True)
class ProtectionLimits:
    principal: PrincipalLimits
    gate: GateLimits
    request: RequestLimits
    statement_timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ProtectionLimits:
        return cls(
            PrincipalLimits(settings.rate_window_seconds, settings.rate_requests, settings.rate_execution_seconds,
                            settings.principal_concurrency),
            GateLimits(settings.concurrency_limit, settings.queue_limit, settings.queue_wait_seconds,
                       settings.principal_share),
            RequestLimits(settings.max_url_length, settings.max_top, settings.max_expand_depth,
                          settings.max_expanded_rows),
            settings.statement_timeout,
        )
