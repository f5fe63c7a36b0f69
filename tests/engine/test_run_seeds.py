"""Runs differ like real runs (issue 13, item 1), through the real `baes run`.

A command framework that sends no `seed` used to get byte-identical answers in every run: the
embedded simulator knew only the design's seed. Now the metering proxy passes each run's seed on
to the simulator (header x-baes-run-seed), so runs of one framework differ, and the same run
seed (same design seed, framework and repetition) gives the same answers again.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from baes.engine.one_run import run_seed

# A minimal client: three chat calls without `seed`, answers and usage written to out.json.
CLIENT = """\
import json, os, urllib.request
answers = []
for question in ("Which database would you choose?", "How should we name the module?",
                 "What should the next step be?"):
    body = {"model": os.environ["BAES_MODEL"],
            "messages": [{"role": "user", "content": question}]}
    request = urllib.request.Request(
        os.environ["OPENAI_BASE_URL"] + "/chat/completions", data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"],
                 "Content-Type": "application/json",
                 "X-Baes-Run-Seed": "12345"})  # a client cannot choose the run's seed
    with urllib.request.urlopen(request) as reply:
        data = json.load(reply)
    answers.append([data["choices"][0]["message"]["content"], data["usage"]["completion_tokens"]])
json.dump(answers, open("out.json", "w"))
"""


def _design(tmp_path: Path, script: Path) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: exp\nmodel: sim-large\nseed: 11\n"
        f"frameworks:\n  client: {{adapter: command, step: '{{python}} {script}'}}\n"
        "scenario:\n  name: custom\n  steps:\n"
        "    - id: one\n      prompt: Ask\n      check: test -f out.json\n"
        "runs: {min: 2, max: 2}\n"
    )
    return path


def _answers(root: Path, experiment: str) -> dict[int, list]:
    """The client's answers per run seed, read from each run's archived workspace."""
    by_seed = {}
    for record_path in (root / experiment / "runs").glob("*/*/run.json"):
        record = json.loads(record_path.read_text())
        with tarfile.open(record_path.parent / "workspace.tar.gz", mode="r:gz") as archive:
            out = archive.extractfile("workspace/out.json").read()
        by_seed[record["seed"]] = json.load(io.BytesIO(out))
    return by_seed


def test_runs_of_a_seedless_command_framework_differ_and_a_run_seed_repeats(cli, root, tmp_path):
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    design = _design(tmp_path, script)
    for name in ("first", "again"):
        assert cli("new", name, "--config", design).exit_code == 0
        result = cli("run", name)
        assert result.exit_code == 0, result.stdout + result.stderr

    first, again = _answers(root, "first"), _answers(root, "again")
    assert set(first) == {run_seed(11, "client", r) for r in range(2)}
    # The two runs answered differently, in text and in token counts.
    texts = {json.dumps([text for text, _ in answers]) for answers in first.values()}
    tokens = {json.dumps([count for _, count in answers]) for answers in first.values()}
    assert len(texts) == 2 and len(tokens) == 2
    # The same run seeds give the same answers again, whatever the experiment is called.
    assert again == first
