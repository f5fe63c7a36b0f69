"""A model's answer to a conversation: code as file blocks, a plan, or prose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from baes.llm.simulator.conversation import (
    Conversation,
    looks_like_code_request,
    read_conversation,
)
from baes.llm.simulator.crud_app import endpoint_summary, render_crud_app
from baes.llm.simulator.crud_spec import CrudSpec, crud_spec
from baes.llm.simulator.defects import Defect, crud_defect, function_defect, should_inject
from baes.llm.simulator.determinism import seeded_random
from baes.llm.simulator.file_blocks import render_file_blocks
from baes.llm.simulator.messages import Message, canonical_messages
from baes.llm.simulator.models import ModelProfile, profile_for
from baes.llm.simulator.prose import chat_text, code_lead_in, code_outro, plan_text
from baes.llm.simulator.python_module import function_source, merge_functions
from baes.llm.simulator.python_spec import FunctionSpec, function_specs, mentioned_modules


@dataclass(frozen=True)
class Answer:
    """What the model says, and for code answers the files and any injected defect."""

    text: str
    files: dict[str, str] = field(default_factory=dict)
    defect: Defect | None = None


def generate_answer(messages: Sequence[Message], model: str, seed: int) -> Answer:
    """The deterministic answer of `model` under `seed` to a conversation."""
    profile = profile_for(model)
    seed_parts = (seed, model, canonical_messages(messages))
    rng = seeded_random("prose", *seed_parts)
    conversation = read_conversation(messages)
    if conversation.asks_plan:
        items = _work_items(conversation)
        return Answer(plan_text(rng, profile.verbose, conversation.last_prompt, items))
    crud = crud_spec(conversation.prompts, conversation.existing_files)
    functions = function_specs(conversation.prompts)
    asked_now = (crud is not None and crud.latest_changes) or function_specs(
        [conversation.last_prompt]
    )
    if not asked_now and not looks_like_code_request(conversation):
        return Answer(chat_text(rng, profile.verbose, conversation.last_prompt))
    files, defect, summary = _write_code(conversation, crud, functions, profile, seed_parts)
    parts = [
        code_lead_in(rng, profile.verbose, conversation.is_repair, summary),
        render_file_blocks(files).rstrip("\n"),
        code_outro(rng, profile.verbose),
    ]
    text = "\n\n".join(p for p in parts if p) + "\n"
    return Answer(text, files, defect)


def _resolve_modules(
    specs: dict[str, FunctionSpec], conversation: Conversation, crud: CrudSpec | None
) -> None:
    """Give every function a file: the one its prompt named, else the latest .py mentioned."""
    candidates = mentioned_modules(conversation.prompts)
    candidates += [p for p in conversation.existing_files if p.endswith(".py")]
    candidates = [c for c in candidates if crud is None or c != crud.module]
    fallback = candidates[-1] if candidates else "functions.py" if crud else "main.py"
    for spec in specs.values():
        if spec.module is None or (crud is not None and spec.module == crud.module):
            spec.module = fallback


def _write_code(
    conversation: Conversation,
    crud: CrudSpec | None,
    functions: dict[str, FunctionSpec],
    profile: ModelProfile,
    seed_parts: tuple[object, ...],
) -> tuple[dict[str, str], Defect | None, list[str]]:
    _resolve_modules(functions, conversation, crud)
    rate = profile.repair_defect_rate if conversation.is_repair else profile.defect_rate
    defect = None
    if should_inject(rate, *seed_parts):
        if crud is not None:
            defect = crud_defect(crud, *seed_parts)
        else:
            latest = [n for n in function_specs([conversation.last_prompt]) if n in functions]
            defect = function_defect(latest or list(functions), *seed_parts)
    files: dict[str, str] = {}
    summary: list[str] = []
    if crud is not None:
        files[crud.module] = render_crud_app(crud, profile.verbose, defect)
        summary += endpoint_summary(crud)
    by_module: dict[str, dict[str, FunctionSpec]] = {}
    for spec in functions.values():
        by_module.setdefault(spec.module or "main.py", {})[spec.name] = spec
    for module, specs in by_module.items():
        existing = conversation.existing_files.get(module)
        sources = {}
        for name, spec in specs.items():
            hit = defect is not None and defect.target == name
            if hit and defect.kind == "missing_function" and not _defines(existing, name):
                continue
            if not spec.knows_result and _defines(existing, name):
                continue  # nothing to add to the version the project already has
            sources[name] = function_source(spec, profile.verbose, wrong_result=hit)
            summary.append(f"`{name}({', '.join(spec.params)})` in `{module}`")
        docstring = _module_docstring(module, specs) if profile.verbose else None
        files[module] = merge_functions(existing, sources, docstring)
    if not files:
        files = _fallback_files(conversation, profile)
    return files, defect, summary


def _defines(source: str | None, name: str) -> bool:
    return bool(source) and f"def {name}(" in (source or "")


def _module_docstring(module: str, specs: dict[str, FunctionSpec]) -> str:
    stem = module.rsplit("/", 1)[-1].removesuffix(".py").replace("_", " ")
    return f"{stem.capitalize()}: {', '.join(specs)}."


def _fallback_files(conversation: Conversation, profile: ModelProfile) -> dict[str, str]:
    """Code for a request nothing specific could be read from: the files shown, or a stub."""
    if conversation.is_repair and conversation.existing_files:
        path, content = list(conversation.existing_files.items())[-1]
        return {path: content}
    goal = (
        conversation.last_prompt.strip().splitlines()[0] if conversation.last_prompt.strip() else ""
    )
    goal = goal[:80].replace("\\", "/").replace('"""', "'''")
    doc = f'"""{goal}"""\n\n\n' if profile.verbose and goal else ""
    body = 'def main() -> None:\n    print("Hello from the simulator")\n\n\nif __name__ == "__main__":\n    main()\n'
    return {"main.py": doc + body}


def _work_items(conversation: Conversation) -> list[str]:
    """Plan steps for what the latest prompt asks (everything, when it asks nothing new)."""
    crud = crud_spec(conversation.prompts, conversation.existing_files)
    items = []
    if crud is not None:
        if crud.module not in conversation.existing_files:
            items.append(
                f"Create `{crud.module}` with a FastAPI app and the SQLite database `{crud.database}`"
            )
        changes = crud.latest_changes or crud.changes
        new_entities = {c.entity for c in changes if c.kind == "entity"}
        for change in changes:
            entity = crud.entity(change.entity)
            if change.kind == "entity" and entity is not None:
                items.append(
                    f"Add the {entity.name} model with CRUD endpoints under `/{entity.table}`"
                )
            elif change.kind == "field" and change.entity not in new_entities:
                items.append(
                    f"Add `{change.detail}` to {change.entity} and migrate the existing rows"
                )
            elif change.kind == "link":
                items.append(
                    f"Link {change.entity} and {change.detail} with an association table and endpoints"
                )
        if crud.module in conversation.existing_files:
            items.append("Keep the existing data and endpoints working")
    latest = function_specs([conversation.last_prompt]) or function_specs(conversation.prompts)
    items += [f"Write `{spec.name}({', '.join(spec.params)})`" for spec in latest.values()]
    return items
