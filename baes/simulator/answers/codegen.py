"""A model's answer to a conversation: code in the edit format asked for, a plan, or prose."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from baes.simulator.answers.code_skeleton import (
    SkeletonCode,
    wants_bare_code,
    write_skeleton_code,
)
from baes.simulator.answers.conversation import (
    Conversation,
    looks_like_code_request,
    read_conversation,
)
from baes.simulator.answers.crud_app import endpoint_summary, render_crud_app
from baes.simulator.answers.crud_spec import CrudSpec, crud_spec
from baes.simulator.answers.defects import Defect, crud_defect, function_defect, should_inject
from baes.simulator.answers.documents import requested_document, task_document
from baes.simulator.answers.edit_formats import (
    EditFormat,
    detect_edit_format,
    render_edits,
    shown_fence_length,
    uses_git_prefixes,
)
from baes.simulator.answers.intent import INSTRUCTION_ROLES, Intent, Request, read_intent
from baes.simulator.answers.one_line import OneLine, one_line_request
from baes.simulator.answers.prose import chat_text, code_lead_in, code_outro, plan_text
from baes.simulator.answers.python_module import function_source, implements, merge_functions
from baes.simulator.answers.python_spec import FunctionSpec, function_specs, mentioned_modules
from baes.simulator.answers.review import review_comment
from baes.simulator.answers.short_answers import (
    classification_text,
    commit_message,
    question_text,
    summary_text,
)
from baes.simulator.answers.tool_agent import AgentTurn, agent_turn
from baes.simulator.determinism import seeded_random
from baes.simulator.messages import Message, ToolCall, canonical_messages
from baes.simulator.models import ModelProfile, profile_for
from baes.simulator.tool_calls import ToolRequest


@dataclass(frozen=True)
class Answer:
    """What the model says, and for code answers the files and any injected defect."""

    text: str
    files: dict[str, str] = field(default_factory=dict)
    defect: Defect | None = None
    tool_calls: tuple[ToolCall, ...] = ()


def generate_answer(
    messages: Sequence[Message], model: str, seed: int, tooling: ToolRequest | None = None
) -> Answer:
    """The deterministic answer of `model` under `seed` to a conversation; with `tooling` (the
    request's tools, unless tool_choice is "none") it may be tool calls (tool_agent.py)."""
    profile = profile_for(model)
    seed_parts = (seed, model, canonical_messages(messages))
    rng = seeded_random("prose", *seed_parts)
    intent, request = read_intent(messages)
    if tooling is not None and tooling.choice.mode != "none":
        turn = _agent_turn(messages, tooling, intent, (model, seed), profile, seed_parts)
        if turn is not None:
            return Answer(turn.text, turn.files, turn.defect, turn.tool_calls)
    one_line = one_line_request(messages)
    if one_line is not None:
        answer = _one_line_answer(one_line, read_conversation(messages))
        if answer is not None:
            return answer
    if intent is not Intent.CODE:
        return Answer(_short_answer(intent, request, messages, rng, profile.verbose))
    conversation = read_conversation(messages)
    if conversation.asks_plan:
        items = _work_items(conversation)
        return Answer(plan_text(rng, profile.verbose, conversation.last_prompt, items))
    if (skeleton := _skeleton_answer(messages, conversation, profile, seed_parts, rng)) is not None:
        return skeleton
    document = _task_document(conversation)
    if document is not None:
        path, content = document
        body = _render(messages, conversation, {path: content})
        return Answer(f"I wrote `{path}`.\n\n{body.rstrip()}\n", {path: content})
    code = write_code(conversation, profile, seed_parts)
    if code is None:
        return Answer(chat_text(rng, profile.verbose, conversation.last_prompt))
    in_full = detect_edit_format(edit_format_text(messages)) is EditFormat.WHOLE
    body = _render(messages, conversation, code.files)
    parts = [
        code_lead_in(rng, profile.verbose, conversation.is_repair, code.summary, in_full),
        body.rstrip("\n") or "The files already do what was asked; nothing needs to change.",
        code_outro(rng, profile.verbose, in_full),
    ]
    text = "\n\n".join(p for p in parts if p) + "\n"
    return Answer(text, code.files, code.defect)


def _skeleton_answer(
    messages: Sequence[Message],
    conversation: Conversation,
    profile: ModelProfile,
    seed_parts: tuple[object, ...],
    rng: random.Random,
) -> Answer | None:
    """The answer to a request that quotes a code skeleton to fill in (code_skeleton.py)."""
    code = _skeleton_code(messages, conversation, profile, seed_parts)
    if code is None:
        return None
    files = {code.path: code.source}
    instructions = "\n\n".join(m.text for m in messages if m.role in INSTRUCTION_ROLES)
    if wants_bare_code(f"{instructions}\n\n{conversation.last_prompt}"):
        return Answer(code.source, files, code.defect)
    parts = [
        code_lead_in(rng, profile.verbose, conversation.is_repair, code.summary, True),
        f"```python\n{code.source}```",
        code_outro(rng, profile.verbose, True),
    ]
    return Answer("\n\n".join(p for p in parts if p) + "\n", files, code.defect)


def _skeleton_code(
    messages: Sequence[Message],
    conversation: Conversation,
    profile: ModelProfile,
    seed_parts: tuple[object, ...],
) -> SkeletonCode | None:
    latest = next((m.text for m in reversed(messages) if m.role == "user"), "")
    instructions = "\n\n".join(m.text for m in messages if m.role in INSTRUCTION_ROLES)
    rate = profile.repair_defect_rate if conversation.is_repair else profile.defect_rate
    seeds = ("skeleton", *seed_parts)
    return write_skeleton_code(latest, instructions, conversation.last_prompt, rate, seeds)


def _render(messages: Sequence[Message], conversation: Conversation, files: dict[str, str]) -> str:
    """The files as edits in the format, and with the fences, the prompt asks for."""
    format_text = edit_format_text(messages)
    return render_edits(
        detect_edit_format(format_text),
        conversation.existing_files,
        files,
        uses_git_prefixes(format_text),
        shown_fence_length(format_text),
    )


def _task_document(conversation: Conversation) -> tuple[str, str] | None:
    """The Markdown task list the latest prompt asks to create (documents.py), when it asks for
    one and the simulator can say what the tasks are."""
    path = requested_document(conversation.last_prompt)
    if path is None:
        return None
    crud = crud_spec(conversation.prompts, conversation.existing_files)
    functions = function_specs([conversation.last_prompt]) or function_specs(conversation.prompts)
    _resolve_modules(functions, conversation, crud)
    items = _work_items(conversation)
    if not functions and not items:
        return None
    return path, task_document(path, functions.values(), items)


@dataclass(frozen=True)
class Code:
    """The files a code answer writes (complete new versions), its summary and any defect."""

    files: dict[str, str]
    defect: Defect | None
    summary: list[str]


def write_code(
    conversation: Conversation, profile: ModelProfile, seed_parts: tuple[object, ...]
) -> Code | None:
    """The code the conversation asks for now, or None when it asks for no code."""
    crud = crud_spec(conversation.prompts, conversation.existing_files)
    functions = function_specs(conversation.prompts)
    asked_now = (crud is not None and crud.latest_changes) or function_specs(
        [conversation.last_prompt]
    )
    if not asked_now and not looks_like_code_request(conversation):
        return None
    files, defect, summary = _write_code(conversation, crud, functions, profile, seed_parts)
    return Code(files, defect, summary)


def _one_line_answer(one_line: OneLine, conversation: Conversation) -> Answer | None:
    """The line asked for (with no newline after it: ChatDev reads the last line, camel/agents/
    chat_agent.py:313), or, when it is asked for only if the code shown is right and it is not, a
    review comment saying what is wrong. None when the simulator cannot tell (the prompts ask
    for nothing it reads): then the request gets the answer it would get without the line."""
    if not one_line.conditional:
        return Answer(one_line.line)
    crud = crud_spec(conversation.prompts, conversation.existing_files)
    functions = function_specs(conversation.prompts)
    if crud is None and not functions:
        return None
    _resolve_modules(functions, conversation, crud)
    shown = conversation.existing_files
    wrong = [
        n for n, spec in functions.items() if not implements(shown.get(spec.module or ""), spec)
    ]
    crud_right = crud is None or shown.get(crud.module) in {
        render_crud_app(crud, verbose, None) for verbose in (False, True)
    }
    if not wrong and crud_right:
        return Answer(one_line.line)
    comment = review_comment(functions, wrong)
    return None if comment is None else Answer(comment)


def _agent_turn(
    messages: Sequence[Message],
    tooling: ToolRequest,
    intent: Intent,
    model_seed: tuple[str, int],
    profile: ModelProfile,
    seed_parts: tuple[object, ...],
) -> AgentTurn | None:
    """The tool-calling agent's move, with the code and prose this module writes."""
    conversation = read_conversation(messages)

    def write(repair: bool) -> tuple[dict[str, str], Defect | None] | None:
        repairing = replace(conversation, is_repair=repair or conversation.is_repair)
        if (skeleton := _skeleton_code(messages, repairing, profile, seed_parts)) is not None:
            return {skeleton.path: skeleton.source}, skeleton.defect
        code = write_code(repairing, profile, seed_parts)
        return None if code is None else (code.files, code.defect)

    def prose() -> str:
        return generate_answer(messages, *model_seed).text  # the answer without tools

    wants_code = intent is Intent.CODE and not conversation.asks_plan
    return agent_turn(messages, tooling, wants_code, write, prose, seed_parts)


def edit_format_text(messages: Sequence[Message]) -> str:
    """Where a framework states its edit format: the instructions, the user turns, and the
    assistant turns (aider shows its format in example answers)."""
    roles = (*INSTRUCTION_ROLES, "user", "assistant")
    return "\n\n".join(m.text for m in messages if m.role in roles)


def _short_answer(
    intent: Intent,
    request: Request,
    messages: Sequence[Message],
    rng: random.Random,
    verbose: bool,
) -> str:
    if intent is Intent.SUMMARY:
        return summary_text(messages)
    if intent is Intent.COMMIT_MESSAGE:
        return commit_message(messages)
    if intent is Intent.CLASSIFICATION:
        return classification_text(request, rng)
    return question_text(messages, request, rng, verbose)


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
    # A function the files shown already implement as asked is kept as it is: a framework that
    # restates the whole task in every prompt (ChatDev's phases) asks for no change to it.
    pending = [
        name
        for name, spec in functions.items()
        if not implements(conversation.existing_files.get(spec.module or ""), spec)
    ]
    rate = profile.repair_defect_rate if conversation.is_repair else profile.defect_rate
    defect = None
    if should_inject(rate, *seed_parts):
        if crud is not None:
            defect = crud_defect(crud, *seed_parts)
        else:
            latest = [n for n in function_specs([conversation.last_prompt]) if n in pending]
            defect = function_defect(latest or pending, *seed_parts)
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
            missing = hit and defect is not None and defect.kind == "missing_function"
            if missing and not _defines(existing, name):
                continue
            if name not in pending or (not spec.knows_result and _defines(existing, name)):
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
