"""What a provider family module offers: the interface `ingest/parse.py`, grouping and the chat view rely on.

A family is one API shape (OpenAI Chat Completions, Anthropic Messages, Gemini generateContent, ...),
served by one module in this package, whatever the host: OpenAI-compatible vendors reuse `openai_chat`.
The module itself is the implementation: module-level names matching `Family` below (a module satisfies
a Protocol structurally, like httpx's transports satisfy `BaseTransport` or Datasette plugins its
hookspecs). Everything a family shares with others lives in `common.py` and `transcript.py`.

Adding a family (issue-16's Bedrock, Cohere, Ollama, ... or a WebSocket transport of an existing one):
1. one module here defining the names of `Family` (copy the smallest, `openai_embeddings.py`);
2. one row in `routes.py: PATH_OPERATIONS` (path → operation and family) and, for a new host, one in
   `hosts.py: HOSTS` (host → provider, which also makes the proxy intercept it).
`providers/__init__.py` finds the module from the family name in the routing row; a test checks that
every routed family's module has the whole interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypedDict


class RequestInfo(TypedDict, total=False):
    request_model: str | None  # the model asked for (Gemini: from the URL path)
    stream: bool  # whether the client asked for a stream
    requested_service_tier: str  # the tier asked for, when the request names one


class Turn(TypedDict):
    role: str
    text: str


class PromptParts(TypedDict):
    """The request as a developer wrote it; `prompt_text` and grouping are built from it."""

    system: str | None
    turns: list[Turn]
    tools: list[str]  # names of the tools offered


class Summary(TypedDict, total=False):
    """What a response body says, in r4u's normalised columns (docs/architecture.md)."""

    response_model: str | None
    completion_text: str | None  # the answer as text, tool calls rendered as `name({...})`
    finish_reason: str | None
    input_tokens: int  # includes cache reads and writes
    output_tokens: int  # includes reasoning
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int
    service_tier: str  # as the provider named it
    error: str  # a refusal to answer reported in a 200 body (e.g. Gemini's blocked prompt)


class Part(TypedDict):
    """One piece of a chat message as the trace page shows it."""

    kind: str  # "text" | "thinking" | "tool_call" | "tool_result" | "image" | "other"
    text: str  # JSON pretty-printed for tool calls, results and unknown pieces
    name: str | None  # the tool's name
    id: str | None  # the tool call's id


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant" | "tool" | ...
    parts: list[Part]


class Stream(Protocol):
    """Reassembles one streamed response into the body the non-streaming call returns.

    `add` takes one decoded event at a time (an SSE event's name and JSON data, one element of a
    streamed JSON array, or one WebSocket message) and says whether it carried the first generated
    content (that event's arrival time becomes the trace's ttft). It must not raise on shapes it does
    not know: keep them, or note them in `notes`.
    """

    error: str | None  # an error the provider reported inside the stream
    notes: list[str]  # what could not be understood, for the trace's parse_note

    def add(self, event: str | None, data: Any) -> bool: ...

    def body(self) -> Any: ...


class StreamBase:
    """What every family's Stream shares: the `error` and `notes` it reports, and ignoring events that
    are not JSON objects. A subclass reads one object at a time in `add_object`."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.notes: list[str] = []

    def add(self, event: str | None, data: Any) -> bool:
        return self.add_object(event, data) if isinstance(data, dict) else False

    def add_object(self, event: str | None, data: dict) -> bool:
        raise NotImplementedError

    def body(self) -> Any:
        raise NotImplementedError


class Family(Protocol):
    """The module-level names of a family module. All functions take parsed JSON and never raise on
    an unexpected shape (they return what they found)."""

    FAMILY: str  # the name routes.py uses for it
    Stream: Callable[[], Stream]

    def request_info(self, body: dict, path: str = "") -> RequestInfo: ...

    def prompt_parts(self, body: dict) -> PromptParts: ...

    def summary(self, body: Any) -> Summary: ...

    def request_messages(self, body: dict) -> list[Message]:
        """The conversation as sent, for the trace page: system prompt first, then the turns."""
        ...

    def response_messages(self, body: Any) -> list[Message]:
        """What the model answered (a stream's reassembled body), one message per choice or candidate."""
        ...


FAMILY_INTERFACE = ("FAMILY", "Stream", "request_info", "prompt_parts", "summary", "request_messages",
                    "response_messages")  # fmt: skip
