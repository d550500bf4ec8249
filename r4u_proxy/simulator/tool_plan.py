"""Agent loops against the simulator: answer with tool calls for a planned number of turns, then with text.

Real agents (Claude Code, openai-agents, pydantic-ai, LangChain, `llm --tool`) only loop when the model asks
for a tool. A plan says which tool to call on each turn:

- the header `x-sim-tool-plan: Glob*5,Task,Read*3`, or
- the same text inside the prompt, `[sim-tool-plan=Glob*5,Task,Read*3]`, for clients that cannot add
  headers (the first user message is resent on every turn, so the plan travels with the conversation).

Turn *n* of the plan is chosen by counting the tool results already in the request: stateless, like every
other simulator control. `NAME*K` repeats a tool K times; `*` alone names the first tool the request offers; `NAME{json}` gives the
arguments. Without them, arguments are built from the tool's JSON schema (first enum value, "sim" for
strings, 1, false, [] and {}), so every call is valid for the client that offered the tool.
"""

from __future__ import annotations

import json
import re
from typing import Any

_MARKER = re.compile(r"\[sim-tool-plan=([^\]]+)\]")
_NAME = re.compile(r"\s*(\*|[A-Za-z0-9_.:-]+)")
_COUNT = re.compile(r"\*(\d+)\s*")
_RESULT_TYPES = frozenset({"tool_result", "function_call_output", "custom_tool_call_output"})


class ToolCall(dict):
    """`{"name": str, "arguments": dict, "turn": int}`: the call the simulated model makes now."""


def parse_plan(text: str) -> list[tuple[str, dict | None]]:
    """`Read*2,Agent{"prompt": "x"}` -> [("Read", None), ("Read", None), ("Agent", {"prompt": "x"})]."""
    steps: list[tuple[str, dict | None]] = []
    decoder = json.JSONDecoder()
    at = 0
    while at < len(text):
        match = _NAME.match(text, at)
        if match is None:
            raise ValueError(f"bad tool plan at {text[at:at + 20]!r} (want NAME, NAME{{json}} or NAME*COUNT)")
        name, at = match.group(1), match.end()
        arguments = None
        if text.startswith("{", at):
            arguments, at = decoder.raw_decode(text, at)
        count = _COUNT.match(text, at)
        repeat = int(count.group(1)) if count else 1
        at = count.end() if count else at
        steps += [(name, arguments)] * repeat
        if at < len(text):
            if text[at] != ",":
                raise ValueError(f"bad tool plan at {text[at:at + 20]!r} (steps are separated by commas)")
            at += 1
    return steps


def _plan_text(request: dict[str, Any], header: str | None) -> str | None:
    if header:
        return header
    match = _MARKER.search(json.dumps(request, ensure_ascii=False))
    return match.group(1).replace('\\"', '"') if match else None


def count_tool_results(node: Any) -> int:
    """Tool results anywhere in a request, in any family's shape."""
    if isinstance(node, list):
        return sum(count_tool_results(item) for item in node)
    if not isinstance(node, dict):
        return 0
    own = int(node.get("type") in _RESULT_TYPES or node.get("role") == "tool" or "functionResponse" in node)
    return own + sum(count_tool_results(v) for k, v in node.items() if isinstance(v, list | dict))


def _tools(request: dict[str, Any]) -> dict[str, dict]:
    """Offered tool name -> its JSON schema, for Anthropic, OpenAI chat/Responses and Gemini shapes."""
    found: dict[str, dict] = {}
    for tool in request.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        for declaration in tool.get("functionDeclarations") or [function]:
            name = declaration.get("name")
            if name:
                schema = declaration.get("input_schema") or declaration.get("parameters") or {}
                found[str(name)] = schema if isinstance(schema, dict) else {}
    return found


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """The smallest valid arguments for a JSON schema: its required properties, filled in."""
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    return {name: _value_for(properties.get(name) or {}) for name in required}


def _value_for(schema: dict[str, Any]) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return {"integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}.get(kind, "sim")


def next_call(request: dict[str, Any], header: str | None) -> ToolCall | None:
    """The tool call for this turn, or None when there is no plan, it is used up, or no tool fits."""
    text = _plan_text(request, header)
    if not text:
        return None
    plan = parse_plan(text)
    turn = count_tool_results(request.get("messages") or request.get("input") or request.get("contents"))
    if turn >= len(plan):
        return None
    tools = _tools(request)
    name, arguments = plan[turn]
    if name == "*":
        name = next(iter(tools), "")
    if name not in tools:
        return None
    return ToolCall(name=name, arguments=arguments if arguments is not None else arguments_for(tools[name]), turn=turn)
