"""Mistral's own paths: fill-in-the-middle (`/v1/fim/completions`: `prompt` + `suffix`) and agents
(`/v1/agents/completions`: an `agent_id` instead of a model). Both answer in the Chat Completions shape,
streamed or not, so reassembly, the summary, the chat and the session hooks are openai_chat's; only the
request differs.
"""

from __future__ import annotations

from r4u_proxy.providers import genai_parts, openai_chat, transcript
from r4u_proxy.providers.base import Message

FAMILY = "mistral"
Stream = openai_chat.Stream
summary = openai_chat.summary
response_messages = openai_chat.response_messages
MESSAGES_KEY = "messages"  # agents; a FIM request has a prompt instead
canonical_message = openai_chat.canonical_message
system_parts = openai_chat.system_parts
output_messages = openai_chat.output_messages
genai_output = openai_chat.genai_output


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": body.get("model") or body.get("agent_id"), "stream": bool(body.get("stream"))}


def prompt_parts(body: dict) -> dict:
    if isinstance(body.get("messages"), list):
        return openai_chat.prompt_parts(body)
    text = body.get("prompt") if isinstance(body.get("prompt"), str) else ""
    if isinstance(body.get("suffix"), str) and body["suffix"]:
        text = f"{text}[FILL]{body['suffix']}"  # where the model is asked to write
    return {"system": None, "turns": [{"role": "user", "text": text}] if text else [], "tools": []}


def request_messages(body: dict) -> list[Message]:
    if isinstance(body.get("messages"), list):
        return openai_chat.request_messages(body)
    return [transcript.message("user", [transcript.part("text", t["text"])]) for t in prompt_parts(body)["turns"]]


def genai_input(body: dict) -> dict:
    if isinstance(body.get("messages"), list):
        return openai_chat.genai_input(body)
    result = genai_parts.empty_input()
    result["messages"] = [genai_parts.message("user", [genai_parts.text(t["text"])]) for t in prompt_parts(body)["turns"]]
    return result
