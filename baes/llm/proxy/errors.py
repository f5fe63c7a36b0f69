"""Errors the metering proxy raises to its caller."""

from __future__ import annotations

from baes.errors import InputError, WorkError


class InvalidUpstreamError(InputError):
    """The upstream base URL is not an http(s) URL."""


class MissingApiKeyError(InputError):
    """The environment variable that should hold the provider's API key is unset or empty."""


class ProxyConfigError(InputError):
    """The proxy's settings contradict each other (e.g. a budget without a price)."""


class ProxyNotRunningError(WorkError):
    """An operation needs the proxy to be serving, and it is not."""


class ProxyStartError(WorkError):
    """The proxy could not start listening on its loopback port."""


class UnknownAttributionError(InputError):
    """No open attribution has this token or base URL."""
