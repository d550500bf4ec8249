"""Which project a call belongs to, and its tags — read from the request, never sent upstream.

- Project: the user part of the proxy URL (`HTTPS_PROXY=http://billing-bot@127.0.0.1:4848` makes clients
  send `Proxy-Authorization: Basic base64("billing-bot:")` on the CONNECT for HTTPS, on every request for
  plain HTTP), or an `X-R4U-Project` header, which wins.
- Tags: `X-R4U-Tag-<name>: value` headers. Code already tagged for other tools works unchanged:
  Helicone's `Helicone-Property-<name>` and `Helicone-Session-Id`, LiteLLM's `x-litellm-tags: a,b`.
- Session: `X-R4U-Session: <id>` (or Helicone's session id) names the agent run the call belongs to; it
  becomes the trace's `session_id` (docs/sessions.md).
All of these headers are removed before the request goes upstream.
"""

from __future__ import annotations

import base64
import binascii

from mitmproxy import http

from r4u.environment import NO_PROJECT_USER
from r4u_proxy.guard import guarded

PROJECT_HEADER = "x-r4u-project"
TAG_PREFIXES = ("x-r4u-tag-", "helicone-property-")
SESSION_HEADER = "helicone-session-id"
R4U_SESSION_HEADER = "x-r4u-session"
LABELS_HEADER = "x-litellm-tags"
# Raw-name prefixes of every header this addon reads: most requests carry none of them, and one pass
# over the raw fields is much cheaper than a Headers.pop() per name.
_OURS = (b"x-r4u-", b"helicone-", LABELS_HEADER.encode(), b"proxy-authorization")


def project_from_proxy_auth(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    project = user.partition(":")[0].strip()
    return project if project and project != NO_PROJECT_USER else None


def pop_session(headers: http.Headers) -> tuple[str, str] | None:
    """Remove `X-R4U-Session`; return (header name, id) for the session tracker."""
    value = (headers.pop(R4U_SESSION_HEADER, None) or "").strip()
    return (R4U_SESSION_HEADER, value) if value else None


def pop_tags(headers: http.Headers) -> tuple[str | None, dict[str, object]]:
    """Remove r4u's (and Helicone's/LiteLLM's) tagging headers; return (project, tags)."""
    project = headers.pop(PROJECT_HEADER, None)
    tags: dict[str, object] = {}
    for name in list(headers.keys()):
        low = name.lower()
        prefix = next((p for p in TAG_PREFIXES if low.startswith(p)), None)
        if prefix is not None and len(low) > len(prefix):
            tags[low[len(prefix) :]] = headers.pop(name)
    if (session := headers.pop(SESSION_HEADER, None)) is not None:
        tags["session_id"] = session
    if (labels := headers.pop(LABELS_HEADER, None)) is not None:
        tags["labels"] = [label.strip() for label in labels.split(",") if label.strip()]
    return (project.strip() or None) if project else None, tags


class Project:
    def __init__(self) -> None:
        self.by_client: dict[str, str] = {}  # client connection id -> project from its CONNECT

    @guarded
    def http_connect(self, flow: http.HTTPFlow) -> None:
        project = project_from_proxy_auth(flow.request.headers.get("proxy-authorization"))
        if project:
            self.by_client[flow.client_conn.id] = project

    @guarded
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        headers = flow.request.headers
        if not any(name.lower().startswith(_OURS) for name, _ in headers.fields):
            if project := self.by_client.get(flow.client_conn.id):
                flow.metadata["r4u_project"] = project
            return
        from_url = project_from_proxy_auth(headers.pop("proxy-authorization", None))  # plain HTTP: per request
        session = pop_session(headers)
        from_header, tags = pop_tags(headers)
        if session is None and isinstance(tags.get("session_id"), str):
            session = (SESSION_HEADER, tags["session_id"])
        if session:
            flow.metadata["r4u_session"] = session
        project = from_header or from_url or self.by_client.get(flow.client_conn.id)
        if project:
            flow.metadata["r4u_project"] = project
        if tags:
            flow.metadata["r4u_tags"] = tags

    def client_disconnected(self, client) -> None:
        self.by_client.pop(client.id, None)

