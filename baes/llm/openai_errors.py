"""OpenAI's error envelope, shared by the simulator and the metering proxy.

Kept out of both packages so that importing the proxy does not load the simulator.
"""

from __future__ import annotations

from typing import Any


def error_body(
    message: str, type_: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error envelope: SDKs read it to raise their usual typed exceptions."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
