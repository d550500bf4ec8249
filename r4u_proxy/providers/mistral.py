"""Mistral's own paths: fill-in-the-middle (`/v1/fim/completions`: `prompt` + `suffix`) and agents
(`/v1/agents/completions`: an `agent_id` instead of a model). Both answer in the Chat Completions shape,
streamed or not, so reassembly, the summary and the canonical-message hooks are openai_chat's; only the
request differs.
"""

from __future__ import annotations

from r4u_proxy.messages import canonical
from r4u_proxy.providers import openai_chat

FAMILY = "mistral"
Stream = openai_chat.Stream
summary = openai_chat.summary
MESSAGES_KEY = "messages"  # agents; a FIM request has a prompt instead (`input_messages`)
canonical_message = openai_chat.canonical_message
system_parts = openai_chat.system_parts
response_choices = openai_chat.response_choices
genai_tools = openai_chat.genai_tools


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": body.get("model") or body.get("agent_id"), "stream": bool(body.get("stream"))}


def prompt_parts(body: dict) -> dict:
    if isinstance(body.get("messages"), list):
        return openai_chat.prompt_parts(body)
    text = body.get("prompt") if isinstance(body.get("prompt"), str) else ""
    if isinstance(body.get("suffix"), str) and body["suffix"]:
        text = f"{text}[FILL]{body['suffix']}"  # where the model is asked to write
    return {"system": None, "turns": [{"role": "user", "text": text}] if text else [], "tools": []}


def input_messages(body: dict) -> list[dict]:
    """A FIM request: the prompt and suffix as one user message."""
    return [canonical.message("user", [canonical.text(t["text"])]) for t in prompt_parts(body)["turns"]]
