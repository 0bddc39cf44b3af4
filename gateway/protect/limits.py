"""The protection limits, read once from the settings (their defaults are the settings' defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings import Settings


@dataclass(frozen=True)
class PrincipalLimits:
    """Per principal, as F&O and Dataverse document them (0 switches a limit off)."""

    window_seconds: float = Settings.rate_window_seconds
    requests: int = Settings.rate_requests
    execution_seconds: float = Settings.rate_execution_seconds
    concurrency: int = Settings.principal_concurrency


@dataclass(frozen=True)
class GateLimits:
    slots: int = Settings.concurrency_limit  # requests served at once (0: no gate)
    queue: int = Settings.queue_limit
    wait_seconds: float = Settings.queue_wait_seconds
    share: float = Settings.principal_share  # of the slots and the queue, per principal


@dataclass(frozen=True)
class RequestLimits:
    """What one request may ask for."""

    url_length: int = Settings.max_url_length
    top: int = Settings.max_top
    expand_depth: int = Settings.max_expand_depth
    expanded_rows: int = Settings.max_expanded_rows


@dataclass(frozen=True)
class ProtectionLimits:
    principal: PrincipalLimits
    gate: GateLimits
    request: RequestLimits
    statement_timeout: float = Settings.statement_timeout

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
