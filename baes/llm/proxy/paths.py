"""Which request paths the proxy forwards: normalised ones under the upstream's API prefix only.

A framework talks to `/t/<token>/v1/<path>`; the proxy sends `<upstream base URL>/<path>` with
the real key. Were `<path>` allowed to hold `..`, the request could leave the upstream's API:
`/t/<token>/v1/../../internal/x` against `https://api.openai.com/v1` would reach
`https://api.openai.com/internal/x` with the real Authorization header. So the API prefix is the
path of the upstream base URL (`/v1` there; nothing for a base URL without a path) and `<path>`
must be normalised as sent: no `.` or `..` segment, neither literal nor percent-encoded, no empty
segment (`//`) except a trailing slash, no backslash, no encoded `/` or `\\`, no `%` left after
decoding (double encoding), no control character. Anything else is refused (`RefusedPath`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

# %2F and %5C: an encoded slash or backslash becomes a separator for some servers.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RefusedPath(Exception):
    """A request path the proxy does not forward; `reason` says why, in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def api_prefix(upstream_base_url: str) -> str:
    """The path every forwarded request stays under: the upstream base URL's path, no slash at
    the end (`https://api.openai.com/v1` → `/v1`, `http://host:8080` → ``)."""
    return urlsplit(upstream_base_url).path.rstrip("/")


def upstream_url(upstream_base_url: str, token: str, scope: Mapping[str, Any]) -> str:
    """The upstream URL (path and query) for a request to `/t/<token>/v1/<path>`.

    Works on the raw path as the client sent it, so percent-encoding reaches the upstream
    unchanged and cannot hide a dot segment. RefusedPath when the path is not forwardable.
    """
    prefix = f"/t/{token}/v1/".encode()
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    if not raw_path.startswith(prefix):
        # The route matched only after decoding: the token or `/v1/` was percent-encoded.
        raise RefusedPath("the path is not in canonical form")
    subpath = raw_path[len(prefix) :].decode("latin-1")
    _check_normalised(subpath)
    url = f"{upstream_base_url.rstrip('/')}/{subpath}"
    if not urlsplit(url).path.startswith(api_prefix(upstream_base_url) + "/"):
        raise RefusedPath("the path leaves the upstream's API prefix")
    if query := scope.get("query_string"):
        url += "?" + query.decode("latin-1")
    return url


def _check_normalised(subpath: str) -> None:
    if "\\" in subpath or _ENCODED_SEPARATOR.search(subpath):
        raise RefusedPath("backslash or encoded path separator in the path")
    try:
        decoded = unquote(subpath, errors="strict") if "%" in subpath else subpath
    except UnicodeDecodeError:
        raise RefusedPath("percent-encoding that is not UTF-8 in the path") from None
    if "%" in decoded:
        raise RefusedPath("double or stray percent-encoding in the path")
    if _CONTROL.search(decoded) or "\\" in decoded:
        raise RefusedPath("control character or backslash in the path")
    segments = decoded.split("/")
    for position, segment in enumerate(segments):
        if segment in (".", ".."):
            raise RefusedPath("dot segment in the path")
        if segment == "" and position != len(segments) - 1:
            raise RefusedPath("empty segment (//) in the path")
