"""Request content stored once: messages, system prompts, tool definitions, long strings and payloads.

An agent resends its whole conversation on every call; storing each request body whole made a 50-turn
session cost 65-130x its unique content. Here (docs/architecture.md, "Content storage"):

- `schema.py`   the tables (`contents`, `message_nodes`), the `traces` view that rebuilds `request_body`,
                `prompt_text` and `response_body` in plain SQL over `trace_rows`, and the full-text index of
                the text each call sent first;
- `strings.py`  long JSON strings cut out and kept once as plain text; which of them are base64 payloads;
- `store.py`    the writer's side: a row's request body -> references (`ContentStore`);
- `convert.py`  bodies written before this storage, converted in place in resumable batches;
- `prune.py`    retention: `r4u prune --older-than 30d [--keep-stats]`, `--max-db-size`.
"""
