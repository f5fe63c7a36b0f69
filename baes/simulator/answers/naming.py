"""English plurals and Python/SQL spellings of entity names."""

from __future__ import annotations

import re


def snake(name: str) -> str:
    """`CourseSection` -> `course_section`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def camel(name: str) -> str:
    """`course_section` -> `CourseSection`."""
    return "".join(part.capitalize() for part in name.split("_") if part)


def plural(word: str) -> str:
    """`student` -> `students`, `category` -> `categories`, `class` -> `classes`."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def singular(word: str) -> str:
    """`students` -> `student`, `categories` -> `category`, `classes` -> `class`."""
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if re.search(r"(ss|x|z|ch|sh)es$", word):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
