"""The simulator's answer generator: what a model would say to a conversation (prose, code in
the edit format asked for, tool calls, structured output), deterministic for a seed."""
