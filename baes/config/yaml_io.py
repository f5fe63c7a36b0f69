"""Reading and writing designs as YAML (ruamel, comments kept) and explaining validation errors.

A validation error names the field path, the line in the file where that is known, and what is
allowed, so a researcher can fix a hand-written design without reading our source.
"""

from __future__ import annotations

import types
import typing
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from baes.config.models import ExperimentConfig
from baes.errors import InputError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


class ConfigError(InputError):
    """A design file that cannot be read or does not validate."""


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: keeps comments and key order, records line numbers
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.preserve_quotes = True
    # Write null as `null`, not as an empty value a reader may take for a forgotten entry.
    yaml.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


# YAML aliases let a few lines stand for an exponentially large document ("billion laughs"):
# ruamel shares the aliased objects, but validating and hashing the design expands them. A design
# needs few aliases, so more than these limits is refused before anything is expanded.
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 20_000


def _refuse_alias_bombs(yaml: YAML, text: str, source: str) -> None:
    """ConfigError when `text` uses too many aliases or expands to too many nodes.

    Walks the parser's events, so nothing is built: each collection's expanded size is the sum
    of its children's, an alias weighs what its anchored node weighed.
    """
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        NodeEvent,
    )

    anchored: dict[str, int] = {}
    open_sizes: list[tuple[int, str | None]] = []  # (expanded size so far, anchor) per open node
    aliases = 0

    def add(size: int, event: Any) -> None:
        if open_sizes:
            total, anchor = open_sizes[-1]
            open_sizes[-1] = (total + size, anchor)
            size = total + size
        if size > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"{source}:{event.start_mark.line + 1}: YAML aliases expand the design to more "
                f"than {MAX_EXPANDED_NODES} values; refused (write the values out instead)"
            )

    for event in yaml.parse(text):
        if isinstance(event, AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConfigError(
                    f"{source}:{event.start_mark.line + 1}: more than {MAX_ALIASES} YAML aliases "
                    "(*name); refused (write the values out instead)"
                )
            add(anchored.get(event.anchor, 1), event)
        elif isinstance(event, CollectionStartEvent):
            open_sizes.append((1, event.anchor))
        elif isinstance(event, CollectionEndEvent):
            size, anchor = open_sizes.pop()
            if anchor is not None:
                anchored[anchor] = size
            add(size, event)
        elif isinstance(event, NodeEvent):  # a scalar
            if event.anchor is not None:
                anchored[event.anchor] = 1
            add(1, event)


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML; ConfigError with `source:line:column` on a syntax error or an alias bomb."""
    try:
        yaml = _yaml()
        _refuse_alias_bombs(yaml, text, source)
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{where}: malformed YAML: {problem}") from None
    except YAMLError as exc:
        raise ConfigError(f"{source}: malformed YAML: {exc}") from None


def load_yaml_file(path: Path) -> Any:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return load_yaml_text(text, str(path))


# --- validation errors ---------------------------------------------------------------------


def _model_at(loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, list[str]]:
    """Walk ExperimentConfig's types along a pydantic error location.

    Returns the model class the location ends in (for listing allowed keys) and the location as
    a user sees it (discriminator tags that pydantic inserts are dropped).
    """
    shown: list[str] = []
    annotation: Any = ExperimentConfig
    pending = list(loc)
    while pending:
        segment = pending.pop(0)
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(segment))
            shown.append(str(segment))
            if field is None:
                return None, shown + [str(s) for s in pending]
            annotation = field.annotation
        elif origin is dict:
            shown.append(str(segment))
            annotation = typing.get_args(annotation)[1]
        elif origin is list:
            shown.append(str(segment))
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = {_tag_of(m): m for m in typing.get_args(annotation) if _tag_of(m)}
            if segment in members:  # a discriminated union: pydantic put the tag in the path
                annotation = members[segment]
            else:
                return None, shown + [str(segment)] + [str(s) for s in pending]
        else:
            return None, shown + [str(segment)] + [str(s) for s in pending]
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, shown
    return None, shown


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return annotation


def _tag_of(model: Any) -> str | None:
    if isinstance(model, type) and issubclass(model, BaseModel) and "adapter" in model.model_fields:
        args = typing.get_args(model.model_fields["adapter"].annotation)
        return args[0] if args else None
    return None


def _line_of(document: Any, path: list[str]) -> int | None:
    """1-based line of the deepest key of `path` present in a ruamel document."""
    node, line = document, None
    for segment in path:
        if isinstance(node, CommentedMap) and segment in node:
            line = node.lc.key(segment)[0] + 1
            node = node[segment]
        elif isinstance(node, CommentedSeq) and segment.isdigit() and int(segment) < len(node):
            line = node.lc.item(int(segment))[0] + 1
            node = node[int(segment)]
        else:
            break
    return line


_NAME_RULE = "use 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
_ENV_RULE = "must be the NAME of an environment variable (letters, digits, _), never the key itself"
_PATTERN_MESSAGES = {
    "name": _NAME_RULE,
    "frameworks": "framework names: " + _NAME_RULE,
    "id": "step ids: 1-40 characters of a-z, 0-9, '_' or '-', starting with a letter or digit",
    "api_key_env": _ENV_RULE,
    "admin_key_env": _ENV_RULE,
    "env": "environment variable names: letters, digits and _, not starting with a digit",
}


def _describe_error(error: ErrorDetails, document: Any) -> tuple[int | None, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent, shown = _model_at(loc[:-1])
        key = str(loc[-1])
        where = ".".join(shown) or "the top level"
        allowed = ", ".join(parent.model_fields) if parent else "see `baes schema`"
        return _line_of(
            document, shown + [key]
        ), f"unknown key {key!r} in {where} (allowed: {allowed})"
    _, shown = _model_at(loc)
    where = ".".join(shown) or "the design"
    if kind == "missing":
        return _line_of(document, shown), f"{where}: required but missing"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "string_pattern_mismatch" and shown:
        message = _PATTERN_MESSAGES.get(shown[-1], message)
        if len(shown) >= 2 and shown[-2] in ("frameworks", "env"):
            message = _PATTERN_MESSAGES[shown[-2]]
    if kind == "literal_error" or kind.endswith("_type") or kind.startswith(("greater", "less")):
        message = f"{message} (got {error.get('input')!r})"
    return _line_of(document, shown), f"{where}: {message}"


def validation_message(exc: ValidationError, document: Any, source: str) -> str:
    """One line per problem: `source:line: path: what is wrong and what is allowed`."""
    lines = []
    for error in exc.errors(include_url=False):
        line, text = _describe_error(error, document)
        lines.append(f"{source}:{line}: {text}" if line else f"{source}: {text}")
    count = len(lines)
    head = f"invalid design ({count} problem{'s' if count != 1 else ''})"
    return head + ":\n  " + "\n  ".join(lines)


def validate_design(document: Any, source: str, lines_from: Any = None) -> ExperimentConfig:
    """Validate a parsed YAML document as an ExperimentConfig; ConfigError explains every problem.

    `lines_from` is the parsed file the document was built from (when the document itself is a
    merged plain copy): an error is located at the key's line there.
    """
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: a design must be a YAML mapping of keys to values")
    try:
        return ExperimentConfig.model_validate(to_plain(document))
    except ValidationError as exc:
        located = lines_from if lines_from is not None else document
        raise ConfigError(validation_message(exc, located, source)) from None


def to_plain(value: Any) -> Any:
    """ruamel's commented containers and scalar strings as plain Python values."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def load_design(path: Path) -> ExperimentConfig:
    """Read and validate a design file."""
    return validate_design(load_yaml_file(path), str(path))


# --- writing --------------------------------------------------------------------------------

_BLOCK_COMMENTS = {
    "schema_version": "Version of this file's format.",
    "name": "Experiment name: the folder name under the experiments root. Not part of the hash.",
    "description": "Free text for humans. Not part of the hash.",
    "model": "The one model every framework uses. Calls asking for another model are handled by\n"
    "provider.model_policy.",
    "provider": "Where LLM calls go. kind: sim (the embedded simulator) or openai (OpenAI or any\n"
    "OpenAI-compatible base_url). Keys are never stored here: api_key_env and admin_key_env\n"
    "name environment variables. model_policy: rewrite | reject | record.",
    "sampling": "Sampling parameters the built-in reference agent sends.",
    "frameworks": "The frameworks compared. adapter: builtin (the reference agent) or command\n"
    "(any CLI tool: setup commands run once per machine, a step command per scenario step).",
    "scenario": "The steps every framework is given, in order, with the same prompt text. A step's\n"
    "check is a shell command run in the workspace after the step; exit 0 is a pass.",
    "runs": "Repetitions per framework: at least min, at most max.",
    "stopping_rule": "A framework stops early (after runs.min) once, for every metric listed, the\n"
    "bootstrap CI half-width is at most max_half_width_pct % of the mean.",
    "limits": "Timeouts in seconds; max_cost_usd is the experiment's budget (null: none);\n"
    "after max_consecutive_failures failed runs in a row a framework is paused.",
    "seed": "Seeds the run order, the simulator and the bootstrap.",
    "pricing": "USD per 1M tokens, copied from baes's price table at creation (edit to override).\n"
    "cached_input null: cached input tokens cost the input price.",
    "analysis": "The pre-registered analysis plan: significance level, p-value adjustment\n"
    "(holm | sidak | bonferroni | none), bootstrap resamples and CI method (bca | percentile).",
    "reconcile": "baes reconcile: provider usage is trusted once two reads settle_seconds apart\n"
    "agree (null: 5 s for the simulator, 900 s for a real provider); tolerances for requests (count) and tokens (%); api_key_id / project_id narrow the\n"
    "provider's usage to the experiment's key or project (see docs/reconcile.md).",
}


def _to_commented(value: Any) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[key] = _to_commented(item)
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq()
        seq.extend(_to_commented(item) for item in value)
        return seq
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    return value


def dump_design(config: ExperimentConfig, header: str | None = None) -> str:
    """The design as commented YAML, every field explicit, so a reader sees the whole plan."""
    document = _to_commented(config.model_dump(mode="json"))
    for key in list(document):
        comment = _BLOCK_COMMENTS.get(key)
        if comment:
            document.yaml_set_comment_before_after_key(key, before=comment, indent=0)
    if header:
        document.yaml_set_start_comment(header)
    buffer = StringIO()
    _yaml().dump(document, buffer)
    return buffer.getvalue()
