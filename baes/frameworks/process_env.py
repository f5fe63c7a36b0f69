"""The environment variables a framework's or a check's process starts with.

The real provider key stays in baes: frameworks talk to the metering proxy with a per-run token,
and generated code run by a check has no business reading credentials either. So every variable
whose name looks like a credential is dropped before anything else is added.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

# Fragments of credential names, matched anywhere in the upper-cased name. OPENAI_ADMIN_KEY is
# the usage-API key; names ending in _KEY catch the other providers' keys (e.g. *_ACCESS_KEY).
SECRET_MARKERS = ("API_KEY", "APIKEY", "ADMIN_KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
# Words that mark a credential only as a whole `_`-separated part: GITHUB_TOKEN and
# HUGGINGFACEHUB_API_TOKEN are secrets, TIKTOKEN_CACHE_DIR and TOKENIZERS_PARALLELISM are not.
SECRET_WORDS = frozenset({"TOKEN", "TOKENS", "PAT"})


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name looks like it holds a credential."""
    upper = name.upper()
    if upper.endswith("_KEY") or any(marker in upper for marker in SECRET_MARKERS):
        return True
    return not SECRET_WORDS.isdisjoint(upper.split("_"))


def scrubbed_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` (default os.environ) without the variables that look like credentials."""
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if not is_secret_name(name)}


def with_python_first(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the directory of the interpreter running baes first on PATH.

    Checks say `python`, meaning the Python baes runs on (whose packages, such as fastapi's test
    client, the checks rely on), not whatever `python` comes first on the user's PATH.
    """
    result = dict(env)
    interpreter_dir = str(Path(sys.executable).parent)
    rest = [
        p for p in result.get("PATH", os.defpath).split(os.pathsep) if p and p != interpreter_dir
    ]
    result["PATH"] = os.pathsep.join([interpreter_dir, *rest])
    return result
