"""The embedded OpenAI-compatible simulator: deterministic models (chat, Responses, legacy
completions, structured output, embeddings), latency, faults, prompt caching and the
organization usage endpoints, so every baes command works offline.

    with start_simulator(SimulatorOptions(seed=1)) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="anything")

See docs/simulator.md.
"""

from baes.file_blocks import (
    FILE_BLOCK_FORMAT,
    FileBlockError,
    UnsafeFilePathError,
    parse_file_blocks,
    render_file_blocks,
)
from baes.simulator.answers.codegen import Answer, generate_answer
from baes.simulator.api.running import RunningSimulator, start_simulator
from baes.simulator.models import (
    EMBEDDING_MODEL,
    LARGE_MODEL,
    MODEL_NAMES,
    SMALL_MODEL,
    ModelProfile,
    UnknownModelError,
    profile_for,
)
from baes.simulator.options import SimulatorOptions, SimulatorOptionsError
from baes.simulator.provider import Simulator, api_key_id
from baes.simulator.tokens import count_tokens, tokenize
from baes.simulator.usage_store import FaultEvent, RecordedCall

__all__ = [
    "EMBEDDING_MODEL",
    "FILE_BLOCK_FORMAT",
    "LARGE_MODEL",
    "MODEL_NAMES",
    "SMALL_MODEL",
    "Answer",
    "FaultEvent",
    "FileBlockError",
    "ModelProfile",
    "RecordedCall",
    "RunningSimulator",
    "Simulator",
    "SimulatorOptions",
    "SimulatorOptionsError",
    "UnknownModelError",
    "UnsafeFilePathError",
    "api_key_id",
    "count_tokens",
    "generate_answer",
    "parse_file_blocks",
    "profile_for",
    "render_file_blocks",
    "start_simulator",
    "tokenize",
]
