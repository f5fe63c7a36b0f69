"""`/v1/embeddings`: deterministic vectors that behave like embeddings, and their token counts.

A vector is the normalised sum of one pseudo-random Gaussian direction per lower-cased word
(feature hashing), so it depends only on the text and the model, texts sharing words point in
similar directions (cosine similarity means something to a retrieval step), and the same text
always gets the same vector. `dimensions` shortens a vector as OpenAI's text-embedding-3 models
do: the first `dimensions` components, normalised again.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from baes.simulator.determinism import digest
from baes.simulator.tokens import count_tokens

EMBEDDING_DIMENSIONS = 1536
MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
_WORDS = re.compile(r"\w+")


class EmbeddingRequestError(ValueError):
    """The embeddings request is malformed; `param` names the parameter."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class EmbeddingInput:
    """One input: its text (token ids joined by spaces for a token array) and its token count."""

    text: str
    tokens: int


def _token_array(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(t, int) and not isinstance(t, bool) for t in value)
    )


def embedding_inputs(raw: Any) -> list[EmbeddingInput]:
    """The inputs of a request: a string, an array of strings, token ids, or arrays of them."""
    if isinstance(raw, str) or _token_array(raw):
        items = [raw]
    elif isinstance(raw, list) and raw:
        items = raw
    else:
        raise EmbeddingRequestError(
            "'input' must be a non-empty string, array of strings, or array of token arrays.",
            "input",
        )
    if len(items) > MAX_INPUTS:
        raise EmbeddingRequestError(
            f"'input' has {len(items)} items; at most {MAX_INPUTS} are allowed.", "input"
        )
    inputs = []
    for index, item in enumerate(items):
        if isinstance(item, str) and item:
            entry = EmbeddingInput(item, count_tokens(item))
        elif _token_array(item):
            entry = EmbeddingInput(" ".join(str(t) for t in item), len(item))
        else:
            raise EmbeddingRequestError(
                f"Invalid 'input[{index}]': expected a non-empty string or array of token ids.",
                f"input[{index}]",
            )
        if entry.tokens > MAX_INPUT_TOKENS:
            raise EmbeddingRequestError(
                f"'input[{index}]' has {entry.tokens} tokens; this model's maximum context "
                f"length is {MAX_INPUT_TOKENS} tokens.",
                "input",
            )
        inputs.append(entry)
    return inputs


def requested_dimensions(body: dict[str, Any]) -> int:
    """`dimensions`, 1 to EMBEDDING_DIMENSIONS; the full size when absent."""
    value = body.get("dimensions")
    if value is None:
        return EMBEDDING_DIMENSIONS
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= EMBEDDING_DIMENSIONS
    ):
        raise EmbeddingRequestError(
            f"Invalid 'dimensions': expected an integer from 1 to {EMBEDDING_DIMENSIONS}.",
            "dimensions",
        )
    return value


def embedding_vector(text: str, model: str, dimensions: int = EMBEDDING_DIMENSIONS) -> np.ndarray:
    """The unit vector of `text` under `model`, shortened to `dimensions` and normalised."""
    words = [w.lower() for w in _WORDS.findall(text)] or [text]
    total = np.zeros(EMBEDDING_DIMENSIONS)
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    for word, count in counts.items():
        seed = int.from_bytes(digest("embedding", model, word)[:8], "big")
        total += count * np.random.default_rng(seed).standard_normal(EMBEDDING_DIMENSIONS)
    vector = total[:dimensions]
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def encode_vector(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """A vector as OpenAI sends it: floats, or base64 of little-endian float32."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector.astype(np.float32)]


def encoding_format_of(body: dict[str, Any]) -> str:
    value = body.get("encoding_format", "float")
    if value not in ("float", "base64"):
        raise EmbeddingRequestError(
            "Invalid 'encoding_format': expected 'float' or 'base64'.", "encoding_format"
        )
    return value


def embeddings_body(
    inputs: list[EmbeddingInput], model: str, dimensions: int, encoding_format: str
) -> dict[str, Any]:
    """The answer of `/v1/embeddings`: one vector per input, and the inputs' tokens as usage."""
    tokens = sum(item.tokens for item in inputs)
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": encode_vector(
                embedding_vector(item.text, model, dimensions), encoding_format
            ),
        }
        for index, item in enumerate(inputs)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
