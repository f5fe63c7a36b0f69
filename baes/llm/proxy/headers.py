"""Which headers cross the proxy, in each direction."""

from __future__ import annotations

from collections.abc import Iterable

from baes.llm.run_seed_header import RUN_SEED_HEADER

# Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, never the message.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# The upstream client sets host and content-length for the upstream request. The proxy
# negotiates its own compression: it must decode the answer to read usage from it, so it offers
# only what aiohttp decodes everywhere.
_NOT_TO_UPSTREAM = _HOP_BY_HOP | {b"host", b"content-length", b"accept-encoding"}
_ACCEPT_ENCODING = (b"accept-encoding", b"gzip, deflate")
# Only the proxy says which run a call is from, and only to a simulator (see run_seed_header).
_RUN_SEED = RUN_SEED_HEADER.encode("latin-1")
# The framework's credentials are replaced by the real key whenever the proxy holds one.
_CREDENTIALS = frozenset({b"authorization", b"api-key"})
# The body is passed on decoded and re-framed; uvicorn adds its own date and server headers.
_NOT_TO_CLIENT = _HOP_BY_HOP | {b"content-length", b"content-encoding", b"date", b"server"}


def upstream_headers(
    client_headers: Iterable[tuple[bytes, bytes]], api_key: str | None, run_seed: int | None = None
) -> list[tuple[bytes, bytes]]:
    """The client's headers as sent upstream: Authorization replaced when a key is configured,
    the run seed header set by the proxy alone (`run_seed` None: not sent at all)."""
    drop = _NOT_TO_UPSTREAM | {_RUN_SEED}
    if api_key is not None:
        drop |= _CREDENTIALS
    headers = [(name, value) for name, value in client_headers if name.lower() not in drop]
    headers.append(_ACCEPT_ENCODING)
    if api_key is not None:
        headers.append((b"authorization", b"Bearer " + api_key.encode("latin-1")))
    if run_seed is not None:
        headers.append((_RUN_SEED, str(run_seed).encode("ascii")))
    return headers


def client_headers(upstream: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers as passed back to the client."""
    return [(name, value) for name, value in upstream if name.lower() not in _NOT_TO_CLIENT]
