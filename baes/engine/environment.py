"""What a run ran on: baes, Python, the platform, and the framework's versions when known."""

from __future__ import annotations

import platform
import sys
from typing import Any

from baes import __version__


def capture_environment(
    framework_versions: dict[str, str] | None = None,
    framework_source: dict[str, str] | None = None,
) -> dict[str, Any]:
    """run.json's `environment` block. `framework_source` is where setup fetched the framework's
    code from ({location, origin}: the design's `source` or a BAES_SOURCE_<NAME> override), None
    for a framework that fetches nothing; it is recorded here, not hashed with the design,
    because setup pins the commit it checks out."""
    return {
        "baes_version": __version__,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "executable": sys.executable,
        "framework_versions": dict(framework_versions or {}),
        "framework_source": dict(framework_source) if framework_source else None,
    }
