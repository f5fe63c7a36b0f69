"""baes's reference agent: the simplest honest coding agent, as a baseline for the others.

Modes (BuiltinFrameworkConfig.mode):
  single  one call per step: the prompt plus the workspace's files; the answer's file blocks
          are written to the workspace.
  plan    a planning call (a short plan, no code), then the coding call in the same conversation.
  repair  single, then the step's check; while it fails and rounds remain, the check's output
          goes back to the model and the files it answers with are written again.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from baes import __version__
from baes.config.models import BuiltinFrameworkConfig
from baes.file_blocks import (
    FILE_BLOCK_FORMAT,
    FileBlockError,
    parse_file_blocks,
    render_file_blocks,
)
from baes.frameworks.chat_client import ChatCallError, ChatClient
from baes.frameworks.contract import CheckResult, SetupProgress, StepContext, StepOutcome
from baes.frameworks.step_log import StepLog
from baes.frameworks.workspace_files import UnsafeWritePathError, text_files, write_files

CHECK_OUTPUT_LIMIT = 4000  # characters of check.log sent back in a repair request (its end)

SYSTEM_PROMPT = (
    "You are a careful software engineer working on a project in a folder. You change the "
    "project by writing files.\n\n" + FILE_BLOCK_FORMAT + "\nFiles you do not write stay as "
    "they are. Write complete files, never fragments or diffs."
)
PLAN_REQUEST = (
    "Before writing any code, make a short plan for this task: a numbered list of at most "
    "eight items. Do not write any code in this answer."
)
CODE_AFTER_PLAN = "Now implement it: write every file you create or change in full, as file blocks."


class BuiltinAdapter:
    """The reference agent over the OpenAI chat-completions API (httpx, no SDK)."""

    def __init__(self, name: str, config: BuiltinFrameworkConfig):
        self.name = name
        self.config = config

    def prepare(self, cache_dir: Path, progress: SetupProgress | None = None) -> None:
        """Nothing to install: the agent is part of baes."""

    def versions(self) -> dict[str, str]:
        """The agent is baes itself; httpx is its only client library."""
        return {"baes": __version__, "httpx": httpx.__version__}

    def source_record(self) -> None:
        """The agent is part of baes: nothing is fetched."""
        return None

    def run_step(self, ctx: StepContext) -> StepOutcome:
        """Run one step in the configured mode; failures are reported, never raised."""
        ctx.log_dir.mkdir(parents=True, exist_ok=True)
        (ctx.log_dir / "prompt.txt").write_text(ctx.prompt, encoding="utf-8")
        with StepLog(ctx.log_dir) as transcript:
            client = ChatClient(
                ctx.base_url,
                ctx.api_key,
                ctx.model,
                ctx.sampling,
                ctx.deadline,
                ctx.cancel,
                note=transcript.note,
                seed=ctx.seed,
            )
            with client:
                step = _Step(ctx, self.config, client, transcript)
                outcome = step.run()
            if outcome.error_message:
                transcript.note(f"step failed ({outcome.error_kind}): {outcome.error_message}")
            return outcome


class _AnswerRefused(Exception):
    """The model's answer cannot be applied to the workspace."""


class _Step:
    """One step's conversation and its effects on the workspace."""

    def __init__(
        self,
        ctx: StepContext,
        config: BuiltinFrameworkConfig,
        client: ChatClient,
        transcript: StepLog,
    ):
        self.ctx = ctx
        self.config = config
        self.client = client
        self.transcript = transcript
        self.attempts = 0
        self.check: CheckResult | None = None

    def run(self) -> StepOutcome:
        try:
            return self._run()
        except ChatCallError as error:
            return StepOutcome.failure(error.kind, error.message, self.attempts, self.check)  # type: ignore[arg-type]
        except _AnswerRefused as refused:
            return StepOutcome.failure("framework", str(refused), self.attempts, self.check)

    def _run(self) -> StepOutcome:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": task_message(self.ctx)},
        ]
        self.attempts = 1
        if self.config.mode == "plan":
            messages[-1]["content"] += "\n\n" + PLAN_REQUEST
            plan = self._ask(messages, "plan")
            messages += [
                {"role": "assistant", "content": plan},
                {"role": "user", "content": CODE_AFTER_PLAN},
            ]
        answer = self._ask(messages, "code")
        self._apply(answer)
        if self.config.mode != "repair" or self.ctx.run_check is None:
            return StepOutcome.success(self.attempts)

        self.check = self._run_check()
        for round_number in range(1, self.config.repair_rounds + 1):
            if self.check.status != "failed":  # passed, or an error no code change can fix
                break
            messages += [
                {"role": "assistant", "content": answer},
                {"role": "user", "content": repair_message(self.check, self.ctx.log_dir)},
            ]
            self.attempts += 1
            answer = self._ask(messages, f"repair {round_number}")
            self._apply(answer)
            self.check = self._run_check()
        return StepOutcome.success(self.attempts, self.check)

    def _ask(self, messages: list[dict[str, str]], label: str) -> str:
        self.transcript.request(label, messages)
        answer = self.client.complete(messages)
        self.transcript.answer(answer)
        return answer

    def _apply(self, answer: str) -> None:
        """Write the answer's files, or refuse the whole answer."""
        try:
            files = parse_file_blocks(answer)
        except FileBlockError as error:
            raise _AnswerRefused(f"the model's answer was not applied: {error}") from None
        if not files:
            raise _AnswerRefused(
                "the model answered without any file block (a path line followed by a fenced "
                "code block), so nothing was written; see stdout.log"
            )
        try:
            written = write_files(self.ctx.workspace, files)
        except UnsafeWritePathError as error:
            raise _AnswerRefused(f"the model's answer was not applied: {error}") from None
        self.transcript.event(f"wrote {', '.join(written)}")

    def _run_check(self) -> CheckResult:
        assert self.ctx.run_check is not None
        check = self.ctx.run_check()
        reason = f": {check.error_reason}" if check.error_reason else ""
        self.transcript.event(f"check {check.status} (exit code {check.exit_code}){reason}")
        return check


def task_message(ctx: StepContext) -> str:
    """The step's user message: the prompt unchanged, any HITL text, then the current files."""
    parts = [ctx.prompt]
    if ctx.hitl_text:
        parts.append("Additional information from the user:\n\n" + ctx.hitl_text)
    files = text_files(ctx.workspace)
    if files:
        parts.append("The project's current files:\n\n" + render_file_blocks(files).rstrip("\n"))
    else:
        parts.append("The project folder is empty.")
    return "\n\n".join(parts)


def repair_message(check: CheckResult, log_dir: Path) -> str:
    """The request to fix the code after a failed check, with the end of check.log."""
    if check.timed_out:
        how = "the step's check failed: it did not finish within its time limit"
    else:
        how = f"the step's check failed with exit code {check.exit_code}"
    output = _tail(log_dir / "check.log", CHECK_OUTPUT_LIMIT)
    fence = "`" * max(3, _longest_backtick_run(output) + 1)
    return (
        f"{how[0].upper()}{how[1:]}. Its output (the last {CHECK_OUTPUT_LIMIT} characters at "
        f"most):\n\n{fence}text\n{output.rstrip()}\n{fence}\n\nFix the code so that the check "
        "passes: write every file you change in full, as file blocks."
    )


def _tail(path: Path, limit: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(the check wrote no log)"
    return text if len(text) <= limit else "…" + text[-limit:]


def _longest_backtick_run(text: str) -> int:
    longest = current = 0
    for char in text:
        current = current + 1 if char == "`" else 0
        longest = max(longest, current)
    return longest
