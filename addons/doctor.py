"""`r4u doctor`'s probe: the proxy itself answers `GET /__r4u/doctor` on any host it intercepts.

A client that gets this answer went through the r4u proxy and trusted the r4u CA; one that connected
directly would have reached the real host instead. Nothing is forwarded upstream (connections are lazy)
and nothing is recorded (the path is no LLM route).
"""

from __future__ import annotations

from mitmproxy import http

from r4u_proxy.guard import guarded

DOCTOR_PATH = "/__r4u/doctor"
DOCTOR_HEADER = "x-r4u-doctor"
DOCTOR_BODY = b"r4u doctor: this request went through the r4u proxy\n"


class Doctor:
    @guarded
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.request.path.split("?", 1)[0] == DOCTOR_PATH and flow.response is None:
            flow.response = http.Response.make(
                200, DOCTOR_BODY, {"content-type": "text/plain", DOCTOR_HEADER: flow.request.pretty_host}
            )

