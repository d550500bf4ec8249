"""Which project a call belongs to: the user part of the proxy URL.

`HTTPS_PROXY=http://billing-bot@127.0.0.1:4848` makes clients send
`Proxy-Authorization: Basic base64("billing-bot:")` — on the CONNECT for HTTPS, on every
request for plain HTTP. r4u reads it as the project name; it never goes upstream.
"""

from __future__ import annotations

import base64
import binascii

from mitmproxy import http

from r4u_proxy.guard import guarded


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
    return project or None


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
        header = flow.request.headers.pop("proxy-authorization", None)  # plain HTTP: per request
        project = project_from_proxy_auth(header) or self.by_client.get(flow.client_conn.id)
        if project:
            flow.metadata["r4u_project"] = project

    def client_disconnected(self, client) -> None:
        self.by_client.pop(client.id, None)


addons = [Project()]
