"""What a provider family module offers: the interface `ingest/parse.py`, grouping and the chat view rely on.

A family is one API shape (OpenAI Chat Completions, Anthropic Messages, Gemini generateContent, ...),
served by one module in this package, whatever the host: OpenAI-compatible vendors reuse `openai_chat`.
The module itself is the implementation: module-level names matching `Family` below (a module satisfies
a Protocol structurally, like httpx's transports satisfy `BaseTransport` or Datasette plugins its
hookspecs). Everything a family shares with others lives in `common.py`; what is drawn from its canonical
messages, in `conversation.py`, `transcript.py` and `genai_parts.py`.

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


class Choice(TypedDict):
    """One generation of a response (a Chat choice, a Gemini candidate; the whole of a Messages or Responses
    reply) as canonical messages (r4u_proxy/messages/canonical.py), and the provider's own finish reason."""

    messages: list[dict[str, Any]]
    finish_reason: Any


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
    an unexpected shape (they return what they found).

    A family reads its messages ONCE, into canonical messages (r4u_proxy/messages/canonical.py); sessions hash
    those, and the trace page's chat (`transcript.py`) and the export's GenAI messages (`genai_parts.py`) are
    drawn from them by shared code (`conversation.py` puts a request's pieces in order). A family with a
    message list defines `MESSAGES_KEY`, `canonical_message` and `system_parts`; one without (completions,
    embeddings) defines `input_messages` instead. Everything below `summary` is optional: a family without
    `response_choices` shows and exports no answer, one without `genai_tools` exports no tool definitions.
    A module converted from the old per-view hooks (`request_messages`/`response_messages`, `genai_input`/
    `genai_output`) keeps its canonical hooks, turns `output_messages` into `response_choices` (every choice,
    each with its finish reason), moves the tool definitions of `genai_input` into `genai_tools`, and deletes
    the rest. Until then `output_messages` is read as one choice (conversation.response_choices).
    """

    FAMILY: str  # the name routes.py uses for it
    Stream: Callable[[], Stream]

    def request_info(self, body: dict, path: str = "") -> RequestInfo: ...

    def prompt_parts(self, body: dict) -> PromptParts: ...

    def summary(self, body: Any) -> Summary: ...

    MESSAGES_KEY: str  # optional: the request's list a client resends, grown by one turn each call
    # ("messages", "input", "contents"); sessions hash it element by element.

    def canonical_message(self, item: Any) -> dict | None:
        """Optional (with MESSAGES_KEY): one element of that list as a canonical message; None to skip it.
        Output items must reduce to the same message as the copy a client resends next turn."""
        ...

    def system_parts(self, body: dict) -> list[dict]:
        """Optional: the system prompt the body carries beside its list (`system`, `instructions`,
        `systemInstruction`), as canonical parts; [] where system messages are in the list (Chat)."""
        ...

    def input_messages(self, body: dict) -> list[dict]:
        """Optional, for a family without a message list, or a request without `MESSAGES_KEY` in a family that
        has both shapes (Ollama's generate beside its chat): the whole request as canonical messages."""
        ...

    def response_choices(self, body: Any) -> list[Choice]:
        """Optional: each generation of a response (reassembled when streamed) as canonical messages with the
        provider's finish reason; the first is what a client continues with. [] for a body with none."""
        ...

    def genai_tools(self, body: dict) -> list[dict]:
        """Optional: the tools the request offers, as the GenAI conventions' tool definitions (`genai_parts`)."""
        ...


FAMILY_INTERFACE = ("FAMILY", "Stream", "request_info", "prompt_parts", "summary")
