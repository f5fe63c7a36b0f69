"""The environment variables a framework's process, its setup or a check starts with.

The real keys stay in baes: frameworks talk to the metering proxy with a per-run token, and
generated code run by a check has no business reading credentials either. So a child process
inherits only an allow-list of baes's variables (what a shell, git, pip and compilers need),
never the variables the design names as keys whatever they are called, and, as a second belt,
never a variable whose name looks like a credential. What a framework needs beyond that, the
design gives it by name (a command framework's `env:`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

# Inherited as they are. Locale, terminal, user, temp dir and time zone make tools behave as in
# the user's shell; the proxy and CA-bundle variables let pip and git reach the network behind a
# corporate proxy; the PIP_/UV_ index settings let setup install from the user's mirror, and
# pip's retry and timeout settings let a user on a slow or flaky network (or a test pointing pip
# at a closed port) tune how long setup waits, as their own pip would;
# LD_LIBRARY_PATH keeps interpreters that need it working. Windows needs its system variables to
# start any process. Python's own variables are not inherited (PYTHONPATH or PYTHONHOME would put
# the user's modules or another Python under the framework): only the two that set text
# encoding.
INHERITED_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "COLORTERM",
        "NO_COLOR",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "LD_LIBRARY_PATH",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "GIT_SSL_CAINFO",
        "NODE_EXTRA_CA_CERTS",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_TRUSTED_HOST",
        "PIP_FIND_LINKS",
        "PIP_CERT",
        "PIP_CONFIG_FILE",
        "PIP_RETRIES",
        "PIP_TIMEOUT",
        "PIP_DEFAULT_TIMEOUT",
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "SYSTEMROOT",
        "SYSTEMDRIVE",
        "COMSPEC",
        "PATHEXT",
        "WINDIR",
        "USERPROFILE",
        "APPDATA",
        "LOCALAPPDATA",
    }
)
INHERITED_PREFIXES = ("LC_",)  # LC_ALL, LC_CTYPE, ...

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


def is_inherited_name(name: str) -> bool:
    """Whether a child process may inherit this variable of baes's environment (allow-list)."""
    return name in INHERITED_NAMES or name.startswith(INHERITED_PREFIXES)


def inherited_environ(
    withheld: Collection[str] = (), environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The allow-listed variables of `environ` (default os.environ), minus the names in
    `withheld` (the design's key variables) and any whose name looks like a credential."""
    source = os.environ if environ is None else environ
    return {
        name: value
        for name, value in source.items()
        if is_inherited_name(name) and name not in withheld and not is_secret_name(name)
    }


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
