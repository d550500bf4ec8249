"""r4u's mitmproxy addons (installed as `r4u_proxy.addons`), one concern each.

`default_addons()` returns them in the order mitmproxy must call them; for every event mitmproxy calls
the addons in the order they were added, and each one relies on the ones before it:

0. `Access` (access.py), only when the proxy listens beyond loopback (`default_addons(beyond_loopback=True)`,
   `--host` not a loopback address): the proxy password and the refusal to relay into loopback and private
   networks. First, so that a request it refuses reaches no other addon, and it reads the password from
   Proxy-Authorization before Project removes that header. On loopback it is not added at all (every
   client is a process of this machine), so it costs the common case nothing.
1. `Routing` (routing.py): which hosts are TLS-intercepted (`allow_hosts`, `--intercept`) and where
   `--resolve` sends them (`server_connect`). Works on connections, before any request exists.
2. `Doctor` (doctor.py): answers `r4u doctor`'s probe (`GET /__r4u/doctor` on an intercepted host)
   itself, so nothing goes upstream or is recorded.
3. `Project` (project.py): the call's project, tags and session hint, from the proxy URL's user part and
   the tagging headers, which it removes before anything else sees the request (`requestheaders`).
4. mitmproxy's `UpstreamAuth`: with `--upstream-proxy`, adds that proxy's credentials to what goes
   upstream — after Project, which removed the app's own Proxy-Authorization (its project name).
5. `Capture` (capture.py): decides from host and path whether a request is an LLM call and, if so,
   creates the call's in-flight record `flow.metadata["r4u"]` (a `Pending`: trace id, route, the time
   it went upstream, and the `Tap` that copies and times the response body as it streams through).
   Every response is streamed; nothing here parses or blocks.
6. `WebSocketTap` (websocket.py): for a WebSocket whose upgrade Capture marked, copies each message as
   it passes and hands the copies to the Recorder's writer in batches (docs/websocket.md); on every
   WebSocket it empties mitmproxy's per-connection message history. Before Recorder: at `done` it hands
   on what open connections still hold, before Recorder closes the writer.
7. `Recorder` (recorder.py): owns the writer process. For a flow Capture marked, it hooks the Tap's
   spill to the writer queue (`responseheaders`, after Capture made the Tap) and, on `response` or
   `error`, turns the flow and its Pending into an Exchange (ingest/exchange.py) and submits it (a
   WebSocket upgrade's 101 is not a trace: WebSocketTap records what the connection carries).

Capture and Recorder stay two addons because they answer to different clocks: Capture runs for every
chunk of every response on the event loop and must stay cheap; Recorder runs once per call and at
start/stop (it starts and drains the writer). Their contract is `flow.metadata["r4u"]` (a Pending) and
`flow.metadata["r4u_project"]` / `["r4u_tags"]` from Project: Capture writes, Recorder reads.
"""

from __future__ import annotations

from typing import Any


def default_addons(*, beyond_loopback: bool = False) -> list[Any]:
    """Fresh instances of r4u's addons, in the order above (like mitmproxy's own `default_addons()`)."""
    from mitmproxy.addons.upstream_auth import UpstreamAuth

    from r4u_proxy.addons.access import Access
    from r4u_proxy.addons.capture import Capture
    from r4u_proxy.addons.doctor import Doctor
    from r4u_proxy.addons.project import Project
    from r4u_proxy.addons.recorder import Recorder
    from r4u_proxy.addons.routing import Routing
    from r4u_proxy.addons.websocket import WebSocketTap

    guard = [Access()] if beyond_loopback else []
    return [*guard, Routing(), Doctor(), Project(), UpstreamAuth(), Capture(), WebSocketTap(), Recorder()]
