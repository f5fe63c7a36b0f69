"""The words around the code: plans, chat answers, and the lead-in to file blocks."""

from __future__ import annotations

import random
import re

from baes.simulator.answers.sentences import split_sentences

_INTROS = (
    "Here is the complete implementation.",
    "Below is the full code for the requested change.",
    "I implemented the request; every changed file is shown in full.",
)
_EDIT_INTROS = (
    "Here are the changes.",
    "Below are the edits for the requested change.",
    "I implemented the request; the edits to each file follow.",
)
_REPAIR_INTROS = (
    "I looked at the failing check and corrected the code.",
    "The check output points at the problem; here is the fixed code.",
    "Thanks for the check output. The corrected files follow.",
)
_OUTROS = (
    "Each file above is complete, so it can replace the current version as it is.",
    "Run the checks again to confirm that everything passes.",
    "Let me know if you want tests for these changes as well.",
)
_CHAT_SENTENCES = (
    "That depends on what you want to optimise for.",
    "A small, well-tested step is usually the safest way forward.",
    "Measuring before and after the change tells you whether it helped.",
    "Keeping the interface stable makes later changes cheaper.",
    "Start with the simplest version that works, then refine it.",
    "Writing the expectations down as checks makes them repeatable.",
)
_STOP_WORDS = {
    "the",
    "and",
    "that",
    "with",
    "this",
    "from",
    "into",
    "your",
    "what",
    "which",
    "have",
    "should",
    "would",
    "could",
    "about",
    "there",
    "their",
    "please",
}


def code_lead_in(
    rng: random.Random, verbose: bool, repair: bool, summary: list[str], in_full: bool = True
) -> str:
    """Prose before the code: a sentence, plus a summary for verbose models. `in_full` is
    False when the code comes as edits (diffs, SEARCH/REPLACE blocks) rather than whole files."""
    if not verbose:
        return "Fixed:" if repair else rng.choice(("Here is the code:", "Done:", "Code:"))
    intro = rng.choice(_REPAIR_INTROS if repair else _INTROS if in_full else _EDIT_INTROS)
    if not summary:
        return intro
    return intro + "\n\nWhat it contains:\n" + "\n".join(f"- {line}" for line in summary)


def code_outro(rng: random.Random, verbose: bool, in_full: bool = True) -> str:
    """Prose after the code (verbose models only)."""
    if not verbose:
        return ""
    return rng.choice(_OUTROS) if in_full else rng.choice(_OUTROS[1:])


def plan_text(rng: random.Random, verbose: bool, prompt: str, work_items: list[str]) -> str:
    """A short numbered plan; no file blocks."""
    steps = list(work_items)
    if not steps:
        goal = next(iter(split_sentences(prompt)), "the request").rstrip(".;:")
        steps = [
            f"Clarify the goal: {goal}",
            "Decide which files to create or change",
            "Write the code",
            "Check the result against the requirements",
        ]
    if verbose:
        steps = [*steps, "Run the checks and fix whatever fails", "Review the code for clarity"]
    # Plans stay short: frameworks typically ask for at most eight items.
    steps = steps[:8] if verbose else steps[:3]
    lead = rng.choice(("Plan:", "Here is the plan:", "I would proceed as follows:"))
    numbered = "\n".join(f"{i}. {step}." for i, step in enumerate(steps, start=1))
    return f"{lead}\n\n{numbered}"


def chat_text(rng: random.Random, verbose: bool, prompt: str) -> str:
    """A plain prose answer for a request that asks for neither code nor a plan."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]{4,}", prompt) if w.lower() not in _STOP_WORDS]
    topic = ", ".join(dict.fromkeys(words[:3])) if words else "your question"
    sentences = rng.sample(_CHAT_SENTENCES, k=4 if verbose else 1)
    return f"About {topic}: " + " ".join(sentences)
