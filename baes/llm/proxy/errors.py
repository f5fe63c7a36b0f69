"""Errors the metering proxy raises to its caller, and the OpenAI-shaped bodies it answers with."""

from __future__ import annotations

import json

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


def openai_error_body(
    message: str, type_: str, code: str | None, param: str | None = None
) -> bytes:
    """An error body shaped like OpenAI's, so SDKs raise their usual typed exceptions."""
    error = {"message": message, "type": type_, "code": code, "param": param}
    return json.dumps({"error": error}, ensure_ascii=False).encode("utf-8")
