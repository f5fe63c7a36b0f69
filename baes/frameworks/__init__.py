"""Framework adapters: the builtin reference agent, the command adapter (any CLI tool), the
contract the engine runs them through, and the registry that picks the adapter of a design's
framework entry. See docs/frameworks.md."""

from baes.frameworks.contract import (
    CheckResult,
    FrameworkAdapter,
    FrameworkSetupError,
    StepContext,
    StepOutcome,
)
from baes.frameworks.registry import adapter_for

__all__ = [
    "CheckResult",
    "FrameworkAdapter",
    "FrameworkSetupError",
    "StepContext",
    "StepOutcome",
    "adapter_for",
]
