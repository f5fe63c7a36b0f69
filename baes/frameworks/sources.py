"""Where a command framework's setup fetches its code from: the design's `source`, or a mirror.

A preset that clones a git repository names the upstream as `source` and pins the commit in a
later setup command. A machine that cannot reach the upstream, or that must use a vetted mirror,
sets BAES_SOURCE_<NAME> (the framework's name upper-cased, every other character `_`): a local
path or a URL holding the same commit. The pinned checkout then fails unless the mirror has that
exact commit, so the override changes where the code came from, never which code ran; it is
recorded in run.json's environment and left out of the design hash.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from baes.config.models import CommandFrameworkConfig
from baes.errors import InputError

SOURCE_VARIABLE_PREFIX = "BAES_SOURCE_"
# scheme://… or scp-like user@host:path: a location git resolves itself, not a local path.
_REMOTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[^/\s]+@[^/\s]+:)")
# The user-info of scheme://user-info@host: a password, or a token given as the user name.
_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


class FrameworkSourceError(InputError):
    """A source override that cannot be used."""


@dataclass(frozen=True)
class FrameworkSource:
    location: str  # what setup's `{source}` becomes
    origin: str  # "design", or the name of the variable that overrode it

    def record(self) -> dict[str, str]:
        """run.json's `framework_source`: the location (without URL credentials) and its origin."""
        return {"location": displayed_location(self.location), "origin": self.origin}


def source_variable(framework: str) -> str:
    """BAES_SOURCE_<NAME>: `spec-kit` -> BAES_SOURCE_SPEC_KIT."""
    return SOURCE_VARIABLE_PREFIX + re.sub(r"[^A-Z0-9]", "_", framework.upper())


def displayed_location(location: str) -> str:
    """The location with the credentials of a scheme://user:password@host URL masked (a token is
    often given as the user name, so the whole user-info goes)."""
    return _URL_USERINFO.sub(r"\1***@", location)


def resolve_source(
    framework: str, config: CommandFrameworkConfig, environ: dict[str, str] | None = None
) -> FrameworkSource | None:
    """The source setup uses on this machine: BAES_SOURCE_<NAME> if set, else the design's."""
    variable = source_variable(framework)
    override = (os.environ if environ is None else environ).get(variable)
    if override is None:
        return FrameworkSource(config.source, "design") if config.source else None
    if config.source is None:
        raise FrameworkSourceError(
            f"{variable} is set but framework {framework!r} has no `source`: its setup fetches "
            "nothing that a mirror could replace",
            hint=f"unset {variable}",
        )
    if not override.strip():
        raise FrameworkSourceError(
            f"{variable} is empty", hint="set it to a local path or a git URL, or unset it"
        )
    if _REMOTE.match(override):
        return FrameworkSource(override, variable)
    path = Path(override).expanduser()
    if not path.exists():
        raise FrameworkSourceError(
            f"{variable} names {override!r}, which does not exist",
            hint="give the path of a local clone (or a bare mirror) or a git URL",
        )
    # Setup runs in the environment folder: a relative path must not change meaning there.
    return FrameworkSource(str(path.resolve()), variable)
