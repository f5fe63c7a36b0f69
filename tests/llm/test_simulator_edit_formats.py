"""Code answers come in the edit format the prompt asks for, and the edits apply to the files
the conversation shows: unified diffs checked with `patch`, SEARCH/REPLACE blocks with an
exact-match applier, both compared with the whole-file answer to the same request."""

from __future__ import annotations

import re
import subprocess
from collections import Counter

import openai
import pytest

from baes.simulator import SimulatorOptions, parse_file_blocks, start_simulator
from tests.frameworks.conftest import scenario_steps

# gpt-engineer 0.3.1's improve instructions (preprompts/improve + file_format_diff), abridged.
GPTE_SYSTEM = """Make changes to existing code and implement new code in the unified git diff syntax.
Output requested code changes and new code in the unified "git diff" syntax. Example:

```diff
--- example.txt
+++ example.txt
@@ -6,3 +6,4 @@
     line content A
     line content B
+    new line added
```
-Every diff must be fenced with triple backtick ```.
-EACH LINE IN THE SOURCE FILES STARTS WITH A LINE NUMBER, WHICH IS NOT PART OF THE SOURCE CODE.
"""
# aider's diff edit format (editblock_prompts), abridged.
AIDER_SYSTEM = """Describe each change with a *SEARCH/REPLACE block* per the examples below.
Every *SEARCH/REPLACE block* must use this format:
1. The *FULL* file path alone on a line, verbatim.
2. The opening fence and code language, eg: ```python
3. The start of search block: <<<<<<< SEARCH
4. A contiguous chunk of lines to search for in the existing source code
5. The dividing line: =======
6. The lines to replace into the source code
7. The end of the replace block: >>>>>>> REPLACE
8. The closing fence: ```

mathweb/flask/app.py
```python
<<<<<<< SEARCH
from flask import Flask
=======
import math
from flask import Flask
>>>>>>> REPLACE
```
"""
GREETING = 'def greet(name):\n    return f"Hello, {name}!"\n'
FAREWELL = (
    "Add a function `farewell(name)` to `greeting.py` that returns the string "
    "`Goodbye, <name>!`. Keep `greet` working as before."
)


@pytest.fixture(scope="module")
def client():
    with start_simulator(SimulatorOptions(seed=2)) as running:
        yield openai.OpenAI(base_url=running.base_url, api_key="sk-test-edits")


def _ask(client, messages, model="sim-large"):
    reply = client.chat.completions.create(model=model, messages=messages)
    return reply.choices[0].message.content


def _numbered(files: dict[str, str]) -> str:
    """Files as gpt-engineer 0.3.1 shows them (FilesDict.to_chat)."""
    chat = ""
    for path, content in files.items():
        chat += f"File: {path}\n"
        for number, line in enumerate(content.split("\n"), 1):
            chat += f"{number} {line}\n"
        chat += "\n"
    return f"```\n{chat}```"


def _patch(tmp_path, files: dict[str, str], answer: str, strip: int = 0) -> dict[str, str]:
    """Apply every fenced diff of `answer` with GNU patch; the files afterwards."""
    for path, content in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    diffs = re.findall(r"^```diff\n(.*?)^```$", answer, re.M | re.S)
    assert diffs, answer
    for diff in diffs:
        done = subprocess.run(
            ["patch", f"-p{strip}", "--forward", "--batch"],
            input=diff,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr + diff
        assert "offset" not in done.stdout and "fuzz" not in done.stdout, done.stdout
    return {p.name: p.read_text() for p in tmp_path.iterdir() if p.is_file()}


def _apply_search_replace(files: dict[str, str], answer: str) -> dict[str, str]:
    """aider's exact strategy: the SEARCH lines occur once, as whole lines, in the file."""
    result = dict(files)
    blocks = re.findall(
        r"^(\S+)\n```\w*\n<<<<<<< SEARCH\n(.*?)^=======\n(.*?)^>>>>>>> REPLACE\n```",
        answer,
        re.M | re.S,
    )
    assert blocks, answer
    for path, search, replace in blocks:
        current = result.get(path, "")
        if not search:
            result[path] = current + replace
            continue
        lines, wanted = current.splitlines(keepends=True), search.splitlines(keepends=True)
        hits = [i for i in range(len(lines)) if lines[i : i + len(wanted)] == wanted]
        assert len(hits) == 1, f"SEARCH matches {len(hits)} times:\n{search}"
        lines[hits[0] : hits[0] + len(wanted)] = replace.splitlines(keepends=True)
        result[path] = "".join(lines)
    return result


def _whole_file_answer(client, files: dict[str, str], prompt: str) -> dict[str, str]:
    shown = "\n".join(f"{p}\n```python\n{c}```" for p, c in files.items())
    return parse_file_blocks(_ask(client, [{"role": "user", "content": f"{prompt}\n\n{shown}"}]))


def test_gpt_engineer_improve_gets_a_unified_diff_that_patch_applies(client, tmp_path):
    answer = _ask(
        client,
        [
            {"role": "system", "content": GPTE_SYSTEM},
            {"role": "user", "content": _numbered({"greeting.py": GREETING})},
            {"role": "user", "content": f"Request: {FAREWELL}"},
        ],
    )
    assert "--- greeting.py\n+++ greeting.py\n@@ -" in answer
    assert not parse_file_blocks(answer), "no whole files in a diff answer"
    patched = _patch(tmp_path, {"greeting.py": GREETING}, answer)["greeting.py"]
    namespace: dict = {}
    exec(patched, namespace)
    assert (
        namespace["farewell"]("Ada") == "Goodbye, Ada!" and namespace["greet"]("Bo") == "Hello, Bo!"
    )
    # Every hunk header carries both lengths, as gpt-engineer's parser requires.
    headers = re.findall(r"^@@ .* @@$", answer, re.M)
    assert headers and all(re.fullmatch(r"@@ -\d+,\d+ \+\d+,\d+ @@", h) for h in headers)


def test_a_crud_step_as_a_diff_patches_to_the_same_module_as_the_whole_file_answer(
    client, tmp_path
):
    first, second = scenario_steps("academic-crud")[:2]
    main = parse_file_blocks(_ask(client, [{"role": "user", "content": first["prompt"]}]))[
        "main.py"
    ]
    answer = _ask(
        client,
        [
            {"role": "system", "content": GPTE_SYSTEM},
            {"role": "user", "content": _numbered({"main.py": main})},
            {"role": "user", "content": first["prompt"] + "\n\n" + second["prompt"]},
        ],
    )
    patched = _patch(tmp_path, {"main.py": main}, answer)["main.py"]
    assert "email" in patched and patched != main
    compile(patched, "main.py", "exec")
    _assert_gpt_engineer_finds_every_hunk(main, answer)


def _similar(a: str, b: str) -> bool:
    """gpt-engineer 0.3.1's diff.is_similar (spaces and case ignored, shared characters)."""
    a, b = a.replace(" ", "").lower(), b.replace(" ", "").lower()
    longer = max(len(a), len(b))
    return longer == 0 or sum((Counter(a) & Counter(b)).values()) / longer >= 0.9


def _assert_gpt_engineer_finds_every_hunk(old: str, answer: str) -> None:
    """gpt-engineer places a hunk at the first line, from the previous hunk's end, resembling
    the hunk's first line: that must be the line the header names."""
    lines = old.split("\n")
    previous_end = 0
    for match in re.finditer(r"^@@ -(\d+),(\d+) \+\d+,\d+ @@\n(.*?)\n", answer, re.M):
        start, length = int(match.group(1)) - 1, int(match.group(2))
        first = match.group(3)[1:]
        assert first.strip(), "a hunk starts with an empty line"
        found = next(i for i in range(previous_end, len(lines)) if _similar(first, lines[i]))
        assert found == start, (first, found, start)
        previous_end = start + length


def test_git_style_prefixes_are_used_when_the_example_uses_them(client, tmp_path):
    system = "Answer with unified diffs like this one:\n--- a/x.py\n+++ b/x.py\n@@ -1,1 +1,1 @@\n-a\n+b\n"
    answer = _ask(
        client,
        [
            {"role": "system", "content": system},
            {"role": "user", "content": f"greeting.py\n```python\n{GREETING}```\n\n{FAREWELL}"},
        ],
    )
    assert "--- a/greeting.py\n+++ b/greeting.py" in answer
    assert "farewell" in _patch(tmp_path, {"greeting.py": GREETING}, answer, strip=1)["greeting.py"]


def test_a_new_file_comes_from_dev_null(client, tmp_path):
    prompt = "Create a Python module `calc.py` with a function `add(a, b)` that returns the sum of `a` and `b`."
    answer = _ask(
        client, [{"role": "system", "content": GPTE_SYSTEM}, {"role": "user", "content": prompt}]
    )
    assert "--- /dev/null\n+++ calc.py\n@@ -0,0 +1," in answer
    assert "def add(a, b)" in _patch(tmp_path, {}, answer)["calc.py"]


@pytest.mark.parametrize("model", ["sim-small", "sim-large"])
def test_search_replace_blocks_apply_and_give_the_whole_file_answer(client, model):
    first, second, third = scenario_steps("academic-crud")[:3]
    main = parse_file_blocks(_ask(client, [{"role": "user", "content": first["prompt"]}]))[
        "main.py"
    ]
    files = {"main.py": main}
    for step in (second, third):
        shown = f"main.py\n```python\n{files['main.py']}```"
        messages = [
            {"role": "system", "content": AIDER_SYSTEM},
            {"role": "user", "content": f"{first['prompt']}\n\n{step['prompt']}\n\n{shown}"},
        ]
        answer = _ask(client, messages, model)
        assert "<<<<<<< SEARCH" in answer and not parse_file_blocks(answer)
        edited = _apply_search_replace(files, answer)
        # The whole-file answer to the same request (format instructions left out) is the same
        # module, unless the two answers drew different defects: compare what both must have.
        assert "email" in edited["main.py"]
        compile(edited["main.py"], "main.py", "exec")
        files = edited
    assert "/courses" in files["main.py"]


def test_search_replace_creates_a_new_file_with_an_empty_search(client):
    prompt = "Create a Python module `calc.py` with a function `add(a, b)` that returns the sum of `a` and `b`."
    answer = _ask(
        client, [{"role": "system", "content": AIDER_SYSTEM}, {"role": "user", "content": prompt}]
    )
    assert "calc.py\n```python\n<<<<<<< SEARCH\n=======\n" in answer
    assert "def add(a, b)" in _apply_search_replace({}, answer)["calc.py"]


def test_the_same_edit_in_every_format_gives_the_same_file(client, tmp_path):
    whole = _whole_file_answer(client, {"greeting.py": GREETING}, FAREWELL)["greeting.py"]
    shown = f"greeting.py\n```python\n{GREETING}```\n\n{FAREWELL}"
    sr = _ask(
        client, [{"role": "system", "content": AIDER_SYSTEM}, {"role": "user", "content": shown}]
    )
    diff = _ask(
        client, [{"role": "system", "content": GPTE_SYSTEM}, {"role": "user", "content": shown}]
    )
    assert _apply_search_replace({"greeting.py": GREETING}, sr)["greeting.py"] == whole
    assert _patch(tmp_path, {"greeting.py": GREETING}, diff)["greeting.py"] == whole
