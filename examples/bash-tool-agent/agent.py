"""A minimal tool-calling coding agent: it acts only through one `bash` tool.

Usage: python agent.py PROMPT_FILE MODEL   (in the project folder; the openai SDK reads
OPENAI_BASE_URL and OPENAI_API_KEY, which baes points at its metering proxy). The model gets the
prompt and the tool; every command it asks for runs with bash in the current folder, and its
output and exit status go back as the tool's result. The loop ends when the model answers
without tool calls (exit 0) or after MAX_TURNS model calls (exit 1).

The code has no curly braces: baes substitutes placeholders written in braces in setup
commands, and the design
installs this file with a heredoc in its setup (examples/bash-tool-agent/design.yaml).
"""

import json
import subprocess
import sys

from openai import OpenAI

SYSTEM = (
    "You are a coding agent working in a project folder. You can only act through the bash "
    "tool: inspect files, write them, and run commands to check your work. When the task is "
    "done, answer with a short summary and no tool call."
)
TOOLS = [
    dict(
        type="function",
        function=dict(
            name="bash",
            description="Run a bash command in the project folder; returns its output and exit status.",
            parameters=dict(
                type="object",
                properties=dict(command=dict(type="string", description="The command to run.")),
                required=["command"],
                additionalProperties=False,
            ),
        ),
    )
]
MAX_TURNS = 30
COMMAND_TIMEOUT_S = 120
OUTPUT_LIMIT = 20000


def run_bash(command):
    """The command's output (stdout then stderr, the last OUTPUT_LIMIT characters) and status."""
    try:
        done = subprocess.run(
            ["bash", "-c", command],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return "[timed out after " + str(COMMAND_TIMEOUT_S) + " s]"
    output = (done.stdout + done.stderr)[-OUTPUT_LIMIT:]
    return output.rstrip("\n") + "\n[exit status " + str(done.returncode) + "]"


def main(prompt_file, model):
    with open(prompt_file, encoding="utf-8") as handle:
        prompt = handle.read()
    client = OpenAI()
    messages = [dict(role="system", content=SYSTEM), dict(role="user", content=prompt)]
    for _ in range(MAX_TURNS):
        reply = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
        message = reply.choices[0].message
        messages.append(message.model_dump(exclude_none=True))
        if not message.tool_calls:
            print(message.content or "")
            return 0
        for call in message.tool_calls:
            command = json.loads(call.function.arguments)["command"]
            print("$ " + command, flush=True)
            result = run_bash(command)
            print(result, flush=True)
            messages.append(dict(role="tool", tool_call_id=call.id, content=result))
    print("no final answer after " + str(MAX_TURNS) + " model calls", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
