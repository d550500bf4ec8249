"""OpenAI legacy Completions (`/v1/completions`): a prompt in, `choices[].text` out, streamed as
`text_completion` chunks with the same shape as the final body."""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import openai_chat
from r4u_proxy.providers.base import Choice
from r4u_proxy.providers.common import (
    accumulate,
    flatten_text,
    openai_usage,
    summary_columns,
)
from r4u_proxy.providers.transcript import shown_text

FAMILY = "openai_completions"
request_info = openai_chat.request_info  # the same request fields: model, stream, service tier


def prompt_parts(body: dict) -> dict:
    prompt = body.get("prompt")
    prompts = prompt if isinstance(prompt, list) else [prompt]
    turns = [{"role": "user", "text": flatten_text(p)} for p in prompts if isinstance(p, str)]
    return {"system": None, "turns": turns, "tools": []}


class Stream(openai_chat.Stream):
    """Chat's chunk handling (in-stream errors, choices by index); a choice carries `text`, not a delta."""

    def _add_choice(self, choice: dict) -> bool:
        index = choice.get("index", 0)
        state = self.choices.setdefault(index, {"index": index, "text": "", "finish_reason": None})
        finish_reason = choice.get("finish_reason")
        accumulate(state, {k: v for k, v in choice.items() if k != "finish_reason"})
        state["finish_reason"] = finish_reason or state["finish_reason"]
        return bool(choice.get("text"))

    def _add_top_level(self, chunk: dict) -> None:
        for key, value in chunk.items():
            if key == "choices" or value is None:
                continue
            if key in ("id", "created"):
                self.snapshot.setdefault(key, value)
            else:
                self.snapshot[key] = value

    def body(self) -> dict:
        body = {**self.snapshot, "object": "text_completion"}
        body["choices"] = [self.choices[i] for i in sorted(self.choices)]
        return body


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    choices = [c for c in body.get("choices") or [] if isinstance(c, dict)]
    text = "\n\n".join(c.get("text") or "" for c in choices)
    reason = choices[0].get("finish_reason") if choices else None
    return summary_columns(body, body.get("model"), text, reason, openai_usage(body.get("usage")))


def input_messages(body: dict) -> list[dict]:
    """The prompt as one user message (a completion has no message list to resend: sessions skip it)."""
    if "prompt" not in body:
        return []
    return [canonical.message("user", [canonical.text(shown_text(body["prompt"]))])]


def response_choices(body: Any) -> list[Choice]:
    choices = (body.get("choices") or []) if isinstance(body, dict) else []
    return [
        {"messages": [canonical.message("assistant", [canonical.text(c.get("text") or "")])] if "text" in c else [],
         "finish_reason": c.get("finish_reason")}
        for c in choices
        if isinstance(c, dict)
    ]  # fmt: skip
