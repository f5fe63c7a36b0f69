"""Which adapter runs a framework entry of a design: the one module that knows every adapter.

The adapters import the contract; the contract imports no adapter. Adding an adapter means a
config model in baes.config.models and a line in `ADAPTERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from baes.config.models import BuiltinFrameworkConfig, CommandFrameworkConfig
from baes.frameworks.contract import FrameworkAdapter

__all__ = ["adapter_for"]


def _builtin(
    name: str, config: BuiltinFrameworkConfig, withheld_env: Collection[str]
) -> FrameworkAdapter:
    # Imported on first use, like the command adapter: either pulls in what the other never needs.
    from baes.frameworks.builtin import BuiltinAdapter

    return BuiltinAdapter(name, config)


def _command(
    name: str, config: CommandFrameworkConfig, withheld_env: Collection[str]
) -> FrameworkAdapter:
    from baes.frameworks.command import CommandAdapter

    return CommandAdapter(name, config, withheld_env)


# A framework config's type -> the factory of its adapter.
ADAPTERS: dict[type, Callable[[str, Any, Collection[str]], FrameworkAdapter]] = {
    BuiltinFrameworkConfig: _builtin,
    CommandFrameworkConfig: _command,
}


def adapter_for(
    name: str,
    config: BuiltinFrameworkConfig | CommandFrameworkConfig,
    withheld_env: Collection[str] = (),
) -> FrameworkAdapter:
    """The adapter for one framework entry of a design; `withheld_env` names the environment
    variables its processes must never inherit (the design's keys, see redaction.key_env_names).
    """
    factory = ADAPTERS.get(type(config))
    if factory is None:
        raise TypeError(f"no adapter for framework config {type(config).__name__}")
    return factory(name, config, withheld_env)
