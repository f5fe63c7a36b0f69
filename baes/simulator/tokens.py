"""A deterministic approximation of a BPE tokenizer, good enough for metering tests.

Text is cut into pieces the way GPT tokenizers pre-split it: a word with its leading space,
a run of up to three digits, one or two punctuation characters, a whitespace run. A word of
more than six letters counts as ceil(len / 4) tokens (long words are several BPE merges).
A chat prompt adds three tokens per message (start, role, separator), one for a `name`,
and three that prime the reply, as OpenAI documents for its chat models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from baes.simulator.messages import Message

# Whitespace before a word sticks to the word, except the last space of a run, as in GPT-4.
_PIECES = re.compile(r" ?[A-Za-z]+| ?\d{1,3}| ?[^\sA-Za-z\d]{1,2}|\s+(?!\S)|\s+")
_LONG_WORD = 6
_CHARS_PER_TOKEN = 4


def tokenize(text: str) -> list[str]:
    """Cut text into approximate tokens; joining them gives the text back."""
    tokens: list[str] = []
    for match in _PIECES.finditer(text):
        piece = match.group()
        letters = piece.lstrip(" ")
        if letters.isalpha() and len(letters) > _LONG_WORD:
            lead = piece[: len(piece) - len(letters)]
            chunks = [
                letters[i : i + _CHARS_PER_TOKEN] for i in range(0, len(letters), _CHARS_PER_TOKEN)
            ]
            chunks[0] = lead + chunks[0]
            tokens.extend(chunks)
        else:
            tokens.append(piece)
    return tokens


def count_tokens(text: str) -> int:
    """Number of approximate tokens in a text."""
    return len(tokenize(text))


def prompt_tokens(messages: Sequence[Message]) -> list[str]:
    """The token sequence of a whole prompt, framing included; its length is prompt_tokens.

    Framing tokens are spelled like special tokens so they never collide with text, and the
    sequence is what prompt caching compares prefixes of.
    """
    sequence: list[str] = []
    for message in messages:
        sequence += ["<|start|>", f"<|role:{message.role}|>", "<|message|>"]
        if message.name:
            sequence.append(f"<|name:{message.name}|>")
        sequence += tokenize(message.text)
    sequence += ["<|start|>", "<|role:assistant|>", "<|message|>"]
    return sequence
