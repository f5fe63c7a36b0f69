"""Framework adapters: the builtin reference agent, the command adapter (any CLI tool), and the
contract the engine runs them through. See docs/frameworks.md."""

from baes.frameworks.contract import (
    CheckResult,
    FrameworkAdapter,
    FrameworkSetupError,
    StepContext,
    StepOutcome,
    adapter_for,
)

__all__ = [
    "CheckResult",
    "FrameworkAdapter",
    "FrameworkSetupError",
    "StepContext",
    "StepOutcome",
    "adapter_for",
]
