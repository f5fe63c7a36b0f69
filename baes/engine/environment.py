"""What a run ran on: baes, Python, the platform, and the framework's versions when known."""

from __future__ import annotations

import platform
import sys
from typing import Any

from baes import __version__


def capture_environment(framework_versions: dict[str, str] | None = None) -> dict[str, Any]:
    """run.json's `environment` block."""
    return {
        "baes_version": __version__,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "executable": sys.executable,
        "framework_versions": dict(framework_versions or {}),
    }
