"""A call's request and response as canonical messages (r4u_proxy/messages/canonical.py), from its family module.

This is the one reading of a body's messages: sessions hash it, and the trace page's chat (`transcript.py`)
and the export's GenAI messages (`genai_parts.py`) are drawn from it. A family module converts its own
shapes (`canonical_message`, `system_parts`, `response_choices`, optionally `input_messages`; see
`base.Family`); everything here is the same for every family.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.messages.canonical import Message
from r4u_proxy.providers.base import Choice


def request_messages(family: Any, body: Any) -> list[Message]:
    """The request as sent: the system prompt as one `system` message, then every message of the list.

    A family without a message list (completions' prompt, embeddings' inputs) says it in `input_messages`, as
    does one whose requests come in two shapes, for a body without the list (Ollama's generate, Mistral's FIM,
    Cohere's embed); one with neither reads as its `prompt_parts` turns."""
    if not isinstance(body, dict):
        return []
    key = getattr(family, "MESSAGES_KEY", None)
    if hasattr(family, "input_messages") and (key is None or key not in body):
        return family.input_messages(body)
    if key is None:
        turns = family.prompt_parts(body)["turns"]
        return [canonical.message(turn["role"], [canonical.text(turn["text"])]) for turn in turns]
    system = canonical.drop_empty_text(family.system_parts(body)) if hasattr(family, "system_parts") else []
    messages = [canonical.message("system", system)] if system else []
    items = body.get(key)
    for item in items if isinstance(items, list) else [items] if items else []:
        found = family.canonical_message(item)
        if found is not None:
            messages.append(found)
    return messages


def response_choices(family: Any, body: Any) -> list[Choice]:
    """Each generation of the response (a choice, a candidate; one for most APIs) and why it ended.

    A family that only has the older `output_messages` (the first choice, for sessions) reads as that one
    choice, with its summary's finish reason."""
    if body is None:
        return []
    if hasattr(family, "response_choices"):
        return family.response_choices(body)
    if hasattr(family, "output_messages"):
        messages = family.output_messages(body)
        return [{"messages": messages, "finish_reason": family.summary(body).get("finish_reason")}] if messages else []
    return []


def output_messages(family: Any, body: Any) -> list[Message]:
    """The first generation's messages: what a client resends as the next turn's history (sessions)."""
    choices = response_choices(family, body)
    return choices[0]["messages"] if choices else []
