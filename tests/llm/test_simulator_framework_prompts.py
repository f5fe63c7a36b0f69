"""The task inside a framework's long prompt: the simulator's code follows it when the prompt is
shaped like ChatDev's role-play phases or like spec-kit's templates handed to aider (prompts
written here after the frameworks' pinned sources, abridged), and the code passes the `hello`
scenario's checks."""

from __future__ import annotations

import re
from collections.abc import Iterator

import openai
import pytest

from baes.simulator import SimulatorOptions, parse_file_blocks, start_simulator
from tests.frameworks.conftest import scenario_steps

SEEDS = range(40)
[GREET, FAREWELL] = [step["prompt"] for step in scenario_steps("hello")]
GREETING = 'def greet(name):\n    return f"Hello, {name}!"\n'


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    with start_simulator(SimulatorOptions(seed=3)) as sim:
        yield openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)


def _answer(client: openai.OpenAI, messages: list[dict], seed: int) -> tuple[str, str | None]:
    raw = client.chat.completions.with_raw_response.create(
        model="sim-small", messages=messages, seed=seed
    )
    return raw.parse().choices[0].message.content, raw.headers.get("x-simulator-defect")


def _run(source: str, call: str) -> object:
    namespace: dict = {}
    exec(compile(source, "greeting.py", "exec"), namespace)  # noqa: S102 - the answer's own code
    return eval(call, namespace)  # noqa: S307


# -- aider's whole-file format with files that contain ``` (spec-kit's Markdown templates) ------

# aider 0.86.2 (coders/wholefile_prompts.py), with the fence it chooses when a file in the chat
# contains ``` lines (coders/base_coder.py choose_fence: ```` is next in all_fences).
AIDER_WHOLE_SYSTEM = """Act as an expert software developer.
Once you understand the request you MUST:
1. Determine if any code changes are needed.
2. Explain any needed changes.
3. If changes are needed, output a copy of each file that needs changes.

To suggest changes to a file you MUST return the entire content of the updated file.
You MUST use this *file listing* format:

path/to/filename.js
````
// entire file content ...
// ... goes in between
````

Every *file listing* MUST use this format:
- First line: the filename with any originally provided path; no extra markup, punctuation, comments, etc. **JUST** the filename with path.
- Second line: opening ````
- ... entire content of the file ...
- Final line: closing ````
"""
TEMPLATE = (
    "# Feature Specification: [FEATURE NAME]\n\n## Execution Flow (main)\n```\n"
    "1. Parse user description from Input\n```\n"
)


def _aider_messages(task: str, files: dict[str, str]) -> list[dict]:
    shown = "".join(f"{path}\n````\n{content}````\n\n" for path, content in files.items())
    return [
        {"role": "system", "content": AIDER_WHOLE_SYSTEM},
        {"role": "user", "content": f"I have *added these files to the chat*:\n\n{shown}"},
        {"role": "assistant", "content": "Ok, any changes I propose will be to those files."},
        {"role": "user", "content": task},
    ]


def _aider_files(answer: str) -> dict[str, str]:
    """aider's WholeFileCoder.get_edits with fence ````: only lines opening with it count."""
    files, name, body = {}, None, []
    lines = answer.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("````"):
            if name is not None:
                files[name], name, body = "".join(body), None, []
            elif i > 0:
                name = lines[i - 1].strip()
        elif name is not None:
            body.append(line)
    return files


def test_file_listings_use_the_fence_the_prompt_shows(client):
    """aider reads only blocks opened by the fence its prompt showed; with ``` the answer wrote
    nothing (spec-kit's runs before this fix)."""
    messages = _aider_messages(GREET, {"templates/spec-template.md": TEMPLATE})
    answer, defect = _answer(client, messages, seed=0)
    assert re.search(r"^greeting\.py\n````python\n", answer, re.M), answer
    files = _aider_files(answer)
    assert set(files) == {"greeting.py"}
    if defect is None:
        assert _run(files["greeting.py"], 'greet("Ada")') == "Hello, Ada!"


def test_a_prompt_showing_triple_fences_still_gets_triple_fences(client):
    messages = _aider_messages(GREET, {}) + []
    messages[0]["content"] = messages[0]["content"].replace("````", "```")
    answer, _ = _answer(client, messages, seed=0)
    assert "\ngreeting.py\n```python\n" in answer and "````" not in answer


# -- ChatDev's phases -------------------------------------------------------------------------

# ChatDev 4f490681: the role's system message (CompanyConfig/Default/RoleConfig.json, with the
# task), and the CodeReviewModification / Coding phase prompts (PhaseConfig.json), which quote
# the task and the code listing ("Codes: \"{codes}\"").
CHATDEV_SYSTEM = (
    "ChatDev is a software company powered by multiple intelligent agents.\n"
    "You are Programmer. we are both working at ChatDev.\n"
    "Here is a new customer's task: {task}.\n"
    "To complete the task, you must write a response that appropriately solves the requested "
    "instruction based on your expertise and customer's needs."
)
CHATDEV_MODIFY = """According to the new user's task, our designed product modality, languages and ideas, our developed first-edition source codes are listed below:
Task: "{task}".
Modality: "application".
Programming Language: " Python"
Ideas: ""
Codes:
"{codes}"
Comments on Codes:
"{comments}"
In the software, each file must strictly follow a markdown code block format, where the following tokens must be replaced such that "FILENAME" is the lowercase file name including the file extension, "LANGUAGE" in the programming language, "DOCSTRING" is a string literal specified in source code that is used to document a specific segment of code, and "CODE" is the original code. Format:
FILENAME
```LANGUAGE
'''
DOCSTRING
'''
CODE
```
As the Programmer, to satisfy the new user's demand and make the software creative, executive and robust, you should modify corresponding codes according to the comments. Then, output the full and complete codes with all bugs fixed based on the comments. Return all codes strictly following the required format."""


def _chatdev_messages(task: str, files: dict[str, str], comments: str) -> list[dict]:
    codes = "".join(f"{path}\n```python\n{content}```\n\n" for path, content in files.items())
    prompt = CHATDEV_MODIFY.format(task=task, codes=codes, comments=comments)
    return [
        {"role": "system", "content": CHATDEV_SYSTEM.format(task=task)},
        {"role": "user", "content": prompt},
    ]


def test_a_quoted_code_listing_is_the_code_to_build_on(client):
    """ChatDev's Incremental step shows the module quoted ("greeting.py…); the answer adds
    `farewell` and keeps `greet` (it used to write a module with `farewell` alone)."""
    messages = _chatdev_messages(FAREWELL, {"greeting.py": GREETING}, "Add the farewell.")
    for seed in SEEDS:
        answer, defect = _answer(client, messages, seed)
        module = parse_file_blocks(answer)["greeting.py"]
        assert _run(module, 'greet("Bob")') == "Hello, Bob!", (seed, answer)
        if defect is None:
            assert _run(module, 'farewell("Ada")') == "Goodbye, Ada!", (seed, answer)


def test_a_function_already_written_as_asked_is_kept_without_a_defect(client):
    """Every ChatDev phase restates the whole task; a function the shown code already
    implements as asked is not rewritten, so no injected defect lands in it (before, each of
    sim-small's answers broke it with probability 0.25)."""
    messages = _chatdev_messages(GREET, {"greeting.py": GREETING}, "<INFO> Finished")
    for seed in SEEDS:
        answer, defect = _answer(client, messages, seed)
        assert defect is None, (seed, answer)
        assert parse_file_blocks(answer)["greeting.py"] == GREETING


def test_a_function_written_wrong_is_rewritten(client):
    wrong = GREETING.replace("!", "")
    messages = _chatdev_messages(GREET, {"greeting.py": wrong}, "greet must end with '!'")
    defects = []
    for seed in SEEDS:
        answer, defect = _answer(client, messages, seed)
        defects.append(defect)
        if defect is None:
            assert _run(parse_file_blocks(answer)["greeting.py"], 'greet("Ada")') == "Hello, Ada!"
    assert None in defects and set(defects) != {None}  # a wrong function may be written wrong again


def test_a_file_closed_right_after_its_last_line_does_not_hide_the_next_one(client):
    """aider closes a file without a final newline on its last line ("…END -->````"); the
    module shown after it is still the code to build on (it was lost, and `greet` with it)."""
    shown = "".join(
        f"{path}\n````\n{content}````\n\n"
        for path, content in {"notes.md": "<!-- END -->", "greeting.py": GREETING}.items()
    )
    messages = _aider_messages(FAREWELL, {})
    messages[1]["content"] = f"I have *added these files to the chat*:\n\n{shown}"
    for seed in SEEDS:
        answer, defect = _answer(client, messages, seed)
        module = _aider_files(answer)["greeting.py"]
        assert _run(module, 'greet("Bob")') == "Hello, Bob!", (seed, answer)
        assert "END" not in module


# spec-kit 05d96b2b templates/commands/specify.md, with {ARGS} replaced by the step's prompt as
# the spec-kit preset does: the task lands inside a backticked command.
SPECIFY = """Given the feature description provided as an argument, do this:

1. Run the script `scripts/create-new-feature.sh --json "{task}"` from repo root and parse its JSON output for BRANCH_NAME and SPEC_FILE. All file paths must be absolute.
2. Load `templates/spec-template.md` to understand required sections.
3. Write the specification to SPEC_FILE using the template structure.
"""


def test_a_task_quoted_inside_a_backticked_command_is_read_as_written(client):
    messages = _aider_messages(SPECIFY.format(task=GREET), {})
    answer, defect = _answer(client, messages, seed=1)
    assert defect is None
    assert _run(_aider_files(answer)["greeting.py"], 'greet("Ada")') == "Hello, Ada!"


# spec-kit 05d96b2b templates/commands/tasks.md (abridged), {ARGS} replaced by the step's prompt.
TASKS = """Break down the plan into executable tasks.

Given the context provided as an argument, do this:

1. Run `scripts/check-task-prerequisites.sh --json` from repo root and parse FEATURE_DIR and AVAILABLE_DOCS list. All paths must be absolute.
2. Load and analyze available design documents:
   - Always read plan.md for tech stack and libraries
7. Create FEATURE_DIR/tasks.md with:
   - Correct feature name from implementation plan
   - Numbered tasks (T001, T002, etc.)
   - Clear file paths for each task

Context for task generation: {task}

The tasks.md should be immediately executable - each task must be specific enough that an LLM can complete it without additional context.
"""
# The spec-kit preset's last phase (baes/config/presets/frameworks/spec-kit.yaml).
IMPLEMENT = "Implement every task of tasks.md now, writing the code files."


def test_a_task_list_asked_for_is_written_and_then_carried_out(client):
    """The tasks phase writes the tasks.md it is asked for (not code, not a stub), with the
    task's exact literals; the implement phase, shown tasks.md (and the template of the same
    name, which it is not asked to carry out), writes the module."""
    answer, defect = _answer(client, _aider_messages(TASKS.format(task=GREET), {}), seed=0)
    assert defect is None
    [(path, tasks)] = _aider_files(answer).items()
    assert path == "tasks.md"  # FEATURE_DIR is the script's placeholder
    assert re.search(
        r"^- \[ \] T001 .*`greet\(name\)`.*`greeting\.py`.*`Hello, <name>!`", tasks, re.M
    )
    defects = []
    for seed in SEEDS:
        shown = {"templates/commands/tasks.md": TASKS, "tasks.md": tasks}
        answer, defect = _answer(client, _aider_messages(IMPLEMENT, shown), seed)
        defects.append(defect)
        files = _aider_files(answer)
        assert set(files) == {"greeting.py"}, answer
        if defect is None:
            assert _run(files["greeting.py"], 'greet("Ada")') == "Hello, Ada!"
    assert defects.count(None) > len(defects) / 2


# ChatDev 4f490681 CompanyConfig/Default/PhaseConfig.json: DemandAnalysis (options, then the
# one-line conclusion with an example) and LanguageChoose (a form with "*"), abridged.
DEMAND_ANALYSIS = """ChatDev has made products in the following form before:

Image: can present information in line chart, bar chart, flow chart, cloud chart, Gantt chart, etc.

Document: can present information via .docx files.

Website: can present personal resume, tutorial, products, or ideas, via .html files.

Application: can implement visualized game, software, tool, etc, via python.

As the Chief Product Officer, to satisfy the new user's demand and the product should be realizable, you should keep discussing with me to decide which product modality do we want the product to be?

Note that we must ONLY discuss the product modality and do not discuss anything else! Once we all have expressed our opinion(s) and agree with the results of the discussion unanimously, any of us must actively terminate the discussion by replying with only one line, which starts with a single word <INFO>, followed by our final product modality without any other words, e.g., "<INFO> PowerPoint"."""
LANGUAGE_CHOOSE = """According to the new user's task and some creative brainstorm ideas listed below:
Task: "{task}".
Modality: "application".
As the Chief Technology Officer, to satisfy the new user's demand and make the software realizable, you should propose a concrete programming language. If python can complete this task via Python, please answer Python; otherwise, answer another programming language (e.g., Java, C++, etc,).
Note that we must ONLY discuss the target programming language and do not discuss anything else! Once we all have expressed our opinion(s) and agree with the results of the discussion unanimously, any of us must actively terminate the discussion and conclude the best programming language we have discussed without any other words or reasons, return only one line using the format: "<INFO> *" where "*" represents a programming language."""
REVIEW = """According to the new user's task and our software designs:
Task: "{task}".
Codes:
"{codes}"
As the Code Reviewer, to make the software directly operable without further coding, ChatDev have formulated the following regulations:
1) all referenced classes should be imported;
2) all methods should be implemented;
Now, you should check the above regulations one by one and review the codes in detail, propose one comment with the highest priority about the codes, and give me instructions on how to fix. Tell me your comment with the highest priority and corresponding suggestions on revision. If the codes are perfect and you have no comment on them, return only one line like "<INFO> Finished"."""


def _chatdev_turn(task: str, prompt: str) -> list[dict]:
    return [
        {"role": "system", "content": CHATDEV_SYSTEM.format(task=task)},
        {"role": "user", "content": prompt},
    ]


@pytest.mark.parametrize("task", [GREET, FAREWELL])
def test_a_one_line_conclusion_in_the_stated_form(client, task):
    """ChatDev ends a discussion when a reply's last line starts with <INFO> (camel/agents/
    chat_agent.py:313); code or prose answers kept each discussion going for 20 calls."""
    for seed in (0, 1):
        modality, _ = _answer(client, _chatdev_turn(task, DEMAND_ANALYSIS), seed)
        assert modality == "<INFO> Application"  # the option sharing words with the task (Python)
        language, _ = _answer(client, _chatdev_turn(task, LANGUAGE_CHOOSE.format(task=task)), seed)
        assert language == "<INFO> Python"


def test_a_conditional_one_line_answer_only_when_the_condition_holds(client):
    """ "If the codes are perfect …, return only one line like "<INFO> Finished"": the line when
    the code shown does what the task asks; else the review comment the prompt asks for, naming
    what is wrong, which the modification phase then reads as a repair request."""
    right = "greeting.py\n```python\n" + GREETING + "```\n\n"
    wrong = right.replace("!", "")
    for seed in (0, 1, 2):
        answer, _ = _answer(
            client, _chatdev_turn(GREET, REVIEW.format(task=GREET, codes=right)), seed
        )
        assert answer == "<INFO> Finished"
        comment, _ = _answer(
            client, _chatdev_turn(GREET, REVIEW.format(task=GREET, codes=wrong)), seed
        )
        assert "<INFO>" not in comment and "```" not in comment
        assert "`greet(name)` in `greeting.py` returns the string `Hello, <name>!`" in comment
    modify = _chatdev_messages(GREET, {"greeting.py": GREETING.replace("!", "")}, comment)
    defects = [_answer(client, modify, seed)[1] for seed in SEEDS]
    # A repair request: sim-small's repair defect rate (5 %), not its first-answer rate (25 %).
    assert defects.count(None) >= len(SEEDS) - 5, defects
