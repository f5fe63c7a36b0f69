"""A reviewer's comment on the code shown: what in it does not do what the prompts ask.

Asked for when a prompt wants a one-line "nothing to comment" answer only if the code is right
("If the codes are perfect and you have no comment on them, return only one line like
"<INFO> Finished"", ChatDev's code review) and the code is not: the comment names each function
that is missing or wrong with the result the task asks for, and says to fix the code, so the
phase that applies the comments reads it as a repair request.
"""

from __future__ import annotations

from collections.abc import Mapping

from baes.simulator.answers.documents import function_item
from baes.simulator.answers.python_spec import FunctionSpec


def review_comment(functions: Mapping[str, FunctionSpec], wrong: list[str]) -> str | None:
    """The comment on the functions in `wrong` (names of `functions`), or None if none."""
    if not wrong:
        return None
    lines = [f"- {function_item(functions[name], imperative=False)}" for name in wrong]
    return (
        "The code does not yet do what the task asks. It must meet these:\n"
        + "\n".join(lines)
        + "\n\nFix the code: rewrite each function above so that it does exactly this, and keep "
        "everything else as it is."
    )
