"""OpenAI legacy Completions (`/v1/completions`): a prompt in, `choices[].text` out, streamed as
`text_completion` chunks with the same shape as the final body."""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers import transcript
from r4u_proxy.providers.base import Message, StreamBase
from r4u_proxy.providers.common import (
    accumulate,
    error_message,
    flatten_text,
    openai_usage,
    request_fields,
    tier_field,
)

FAMILY = "openai_completions"


def request_info(body: dict, path: str = "") -> dict:
    return request_fields(body)


def prompt_parts(body: dict) -> dict:
    prompt = body.get("prompt")
    prompts = prompt if isinstance(prompt, list) else [prompt]
    turns = [{"role": "user", "text": flatten_text(p)} for p in prompts if isinstance(p, str)]
    return {"system": None, "turns": turns, "tools": []}


class Stream(StreamBase):
    def __init__(self) -> None:
        super().__init__()
        self.body_so_far: dict = {}
        self.choices: dict[int, dict] = {}

    def add_object(self, event: str | None, data: dict) -> bool:
        if data.get("error"):
            self.error = error_message(data) or self.error
        produced = False
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            state = self.choices.setdefault(index, {"index": index, "text": "", "finish_reason": None})
            finish_reason = choice.get("finish_reason")
            accumulate(state, {k: v for k, v in choice.items() if k != "finish_reason"})
            state["finish_reason"] = finish_reason or state["finish_reason"]
            produced = produced or bool(choice.get("text"))
        for key, value in data.items():
            if key == "choices" or value is None:
                continue
            if key in ("id", "created"):
                self.body_so_far.setdefault(key, value)
            else:
                self.body_so_far[key] = value
        return produced

    def body(self) -> dict:
        body = {**self.body_so_far, "object": "text_completion"}
        body["choices"] = [self.choices[i] for i in sorted(self.choices)]
        return body


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    choices = [c for c in body.get("choices") or [] if isinstance(c, dict)]
    result = {
        "response_model": body.get("model"),
        "completion_text": "\n\n".join(c.get("text") or "" for c in choices) or None,
        "finish_reason": choices[0].get("finish_reason") if choices else None,
        **tier_field(body),
    }
    result.update(openai_usage(body.get("usage")))
    return result


def request_messages(body: dict) -> list[Message]:
    if "prompt" not in body:
        return []
    return [transcript.message("user", [transcript.part("text", transcript.shown_text(body["prompt"]))])]


def response_messages(body: Any) -> list[Message]:
    if not isinstance(body, dict):
        return []
    return [
        transcript.message("assistant", [transcript.part("text", choice["text"])])
        for choice in body.get("choices") or []
        if isinstance(choice, dict) and "text" in choice
    ]


def genai_output(body: Any) -> list[dict]:
    """One output message per choice (the GenAI conventions' shape, for export)."""
    from r4u_proxy.providers import genai_parts

    choices = (body.get("choices") or []) if isinstance(body, dict) else []
    return [
        genai_parts.message("assistant", [genai_parts.text(c.get("text") or "")], c.get("finish_reason"), output=True)
        for c in choices
        if isinstance(c, dict)
    ]
