"""Notes and tags added to an experiment after its creation: `.meta/annotations.json`.

They live outside the hashed design (config.yaml), so annotating never changes the config hash
nor the state `baes show` reports. The file is small and read by `baes list` for every
experiment, so the model is a plain dataclass checked by hand (importing pydantic would cost
`baes list` about 0.15 s of its start-up budget).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.errors import InputError, WorkError
from baes.store.atomic import atomic_write_json, file_lock
from baes.store.paths import NAME_RE, ExperimentPaths, validate_name
from baes.store.registry import utc_now

ANNOTATIONS_SCHEMA_VERSION = 1
ANNOTATIONS_FILE = "annotations.json"  # in the experiment's .meta/
MAX_NOTE_CHARS = 10_000
MAX_TAGS = 64
# Control characters would let a note rewrite the terminal that shows it; newlines and tabs are
# fine in a note.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class AnnotationsError(WorkError):
    """`.meta/annotations.json` exists but is not an annotations file (exit 1)."""


@dataclass(frozen=True)
class Note:
    """A free-text note and when it was added (UTC, ISO-8601)."""

    text: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "created_at": self.created_at}


@dataclass(frozen=True)
class Annotations:
    """An experiment's tags (sorted, unique) and notes (oldest first)."""

    tags: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": ANNOTATIONS_SCHEMA_VERSION,
            "tags": list(self.tags),
            "notes": [note.to_json() for note in self.notes],
        }

    @classmethod
    def from_json(cls, raw: Any) -> Annotations:
        """The annotations stored as `raw`; ValueError saying what is wrong when they are not."""
        if not isinstance(raw, dict):
            raise ValueError(f"a JSON {type(raw).__name__}, not an object")
        version = raw.get("schema_version")
        if version != ANNOTATIONS_SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {version!r} (this baes reads {ANNOTATIONS_SCHEMA_VERSION})"
            )
        tags, notes = raw.get("tags", []), raw.get("notes", [])
        if not isinstance(tags, list) or not all(
            isinstance(t, str) and NAME_RE.fullmatch(t) for t in tags
        ):
            raise ValueError("'tags' is not a list of tags")
        if not isinstance(notes, list) or not all(
            isinstance(n, dict)
            and isinstance(n.get("text"), str)
            and isinstance(n.get("created_at"), str)
            for n in notes
        ):
            raise ValueError("'notes' is not a list of {text, created_at}")
        return cls(
            tags=tuple(sorted(set(tags))),
            notes=tuple(Note(n["text"], n["created_at"]) for n in notes),
        )


def annotations_path(paths: ExperimentPaths) -> Path:
    return paths.meta_dir / ANNOTATIONS_FILE


def read_annotations(paths: ExperimentPaths) -> Annotations:
    """The experiment's annotations; empty when it has none, AnnotationsError when the file is
    damaged (it is never overwritten then: fix or delete it)."""
    path = annotations_path(paths)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return Annotations()
    except OSError as exc:
        raise AnnotationsError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return Annotations.from_json(json.loads(text))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise AnnotationsError(
            f"{path} is not a baes annotations file ({exc})",
            hint="fix the file or delete it (that deletes the experiment's notes and tags)",
        ) from None


def validate_tag(tag: str) -> str:
    """`tag` if it is a valid tag (the rules of names: a-z, 0-9, '.', '_', '-'); else InputError."""
    return validate_name(tag, "tag")


def validate_note(text: str) -> str:
    """The note without surrounding blank space; InputError when empty, too long or with control
    characters."""
    text = text.strip()
    if not text:
        raise InputError("the note is empty")
    if len(text) > MAX_NOTE_CHARS:
        raise InputError(f"the note has {len(text)} characters; at most {MAX_NOTE_CHARS}")
    if _CONTROL.search(text):
        raise InputError("the note holds control characters; only text, newlines and tabs")
    return text


def add_note(paths: ExperimentPaths, text: str) -> Annotations:
    """Append a note (validated); the annotations as written."""
    note = Note(validate_note(text), utc_now())
    return _update(paths, lambda a: Annotations(a.tags, (*a.notes, note)))


def change_tags(
    paths: ExperimentPaths, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> Annotations:
    """Remove then add tags, in one write; the annotations as written.

    InputError (nothing changed) for an invalid tag, a tag to remove that the experiment does not
    have, or more than MAX_TAGS tags. A tag added twice is kept once.
    """
    added = [validate_tag(t) for t in add]
    removed = [validate_tag(t) for t in remove]

    def change(current: Annotations) -> Annotations:
        missing = [t for t in removed if t not in current.tags]
        if missing:
            has = ", ".join(current.tags) or "none"
            raise InputError(
                f"experiment {paths.name!r} has no tag {', '.join(missing)} (its tags: {has})"
            )
        tags = (set(current.tags) - set(removed)) | set(added)
        if len(tags) > MAX_TAGS:
            raise InputError(f"an experiment has at most {MAX_TAGS} tags; this makes {len(tags)}")
        return Annotations(tuple(sorted(tags)), current.notes)

    return _update(paths, change)


def _update(paths: ExperimentPaths, change: Callable[[Annotations], Annotations]) -> Annotations:
    """Read, change and write the annotations under their lock, so that two commands at once
    each keep the other's change."""
    path = annotations_path(paths)
    with file_lock(path):
        updated = change(read_annotations(paths))
        atomic_write_json(path, updated.to_json())
    return updated
