"""r4u's addons in-process, as mitmproxy runs them (mitmproxy.test.taddons / tflow), beside the end-to-end
tests through a real proxy: error descriptions, tag popping, routing, and the Exchange handed to the writer."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from mitmproxy import exceptions, hooks
from mitmproxy.addons.upstream_auth import UpstreamAuth
from mitmproxy.http import Headers
from mitmproxy.proxy import server_hooks
from mitmproxy.proxy.layers.http import (
    HttpErrorHook,
    HttpRequestHeadersHook,
    HttpRequestHook,
    HttpResponseHeadersHook,
    HttpResponseHook,
)
from mitmproxy.test import taddons, tflow, tutils

from r4u_proxy.addons import default_addons
from r4u_proxy.addons.access import Access
from r4u_proxy.addons.capture import BodyCopy, Capture, Pending, Tap
from r4u_proxy.addons.doctor import Doctor
from r4u_proxy.addons.project import Project
from r4u_proxy.addons.recorder import PROXY_STOPPED, Recorder, describe_error
from r4u_proxy.addons.routing import Routing
from r4u_proxy.addons.websocket import WebSocketTap
from r4u_proxy.guard import COUNTERS
from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.providers.hosts import intercept_regexes


class CollectingWriter:
    """Stands in for TraceWriter: keeps what the recorder submits (the writer process has its own tests)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.parts: list[tuple[str, list]] = []
        self.closed = False

    def submit(self, exchange: Exchange) -> bool:
        self.exchanges.append(exchange)
        return True

    def submit_part(self, trace_id: str, chunks: list) -> bool:
        self.parts.append((trace_id, list(chunks)))
        return True

    def close(self) -> None:
        self.closed = True


def _llm_flow(path: bytes = b"/v1/chat/completions?api-version=1", headers: list | None = None) -> Any:
    request = tutils.treq(
        host="api.openai.com", port=443, scheme=b"https", method=b"POST", path=path,
        headers=Headers(headers or [(b"content-type", b"application/json")]), content=b'{"model":"gpt-4o"}',
    )  # fmt: skip
    return tflow.tflow(req=request)


def test_default_addons_come_in_their_documented_order():
    assert [type(a) for a in default_addons()] == [Routing, Doctor, Project, UpstreamAuth, Capture, WebSocketTap, Recorder]
    first, second = default_addons(), default_addons()
    assert all(a is not b for a, b in zip(first, second, strict=True))  # fresh instances each time
    # Beyond loopback the password and relay guard comes first: a refused request reaches no other addon.
    beyond = [type(a) for a in default_addons(beyond_loopback=True)]
    assert beyond == [Access, Routing, Doctor, Project, UpstreamAuth, Capture, WebSocketTap, Recorder]


@pytest.mark.parametrize(
    ("message", "with_response", "described"),
    [
        ("Client disconnected.", False, "client disconnected before the response: Client disconnected."),
        ("read timed out", False, "upstream timeout: read timed out"),
        ("TLS handshake failed: certificate verify failed", False, "upstream TLS failed: TLS handshake failed"),
        ("[Errno 111] Connection refused", False, "upstream connect failed: [Errno 111] Connection refused"),
        ("something odd", False, "upstream error: something odd"),
        ("Client disconnected.", True, "client disconnected mid-response: Client disconnected."),
        ("Server disconnected.", True, "upstream connection reset mid-response: Server disconnected."),
        ("HTTP/2 protocol error", True, "transfer failed mid-response: HTTP/2 protocol error"),
    ],
)
def test_errors_are_described_in_words_a_user_searches_for(message, with_response, described):
    flow = tflow.tflow(resp=with_response, err=tflow.terr(message))
    assert describe_error(flow).startswith(described)


def test_project_and_tags_are_read_and_never_sent_upstream():
    addon = Project()
    with taddons.context(addon):
        flow = _llm_flow(headers=[
            (b"content-type", b"application/json"), (b"X-R4U-Project", b" billing "), (b"X-R4U-Tag-User", b"u-42"),
            (b"Helicone-Property-Env", b"prod"), (b"Helicone-Session-Id", b"s-1"), (b"x-litellm-tags", b"a, b,"),
        ])  # fmt: skip
        addon.requestheaders(flow)
    assert flow.metadata["r4u_project"] == "billing"
    assert flow.metadata["r4u_tags"] == {"user": "u-42", "env": "prod", "session_id": "s-1", "labels": ["a", "b"]}
    assert list(flow.request.headers.keys()) == ["content-type"]


def test_the_project_from_the_proxy_url_applies_to_every_request_on_that_connection():
    addon = Project()
    with taddons.context(addon):
        connect = tflow.tflow(req=tutils.treq(method=b"CONNECT", headers=Headers(
            [(b"proxy-authorization", b"Basic " + base64.b64encode(b"billing-bot:"))])))  # fmt: skip
        addon.http_connect(connect)
        request = _llm_flow()
        request.client_conn = connect.client_conn
        addon.requestheaders(request)
        assert request.metadata["r4u_project"] == "billing-bot"
        addon.client_disconnected(connect.client_conn)
        later = _llm_flow()
        later.client_conn = connect.client_conn
        addon.requestheaders(later)
    assert "r4u_project" not in later.metadata


def test_routing_sets_the_intercept_list_and_resolves_hosts():
    addon = Routing()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, r4u_intercept=["*.internal.example"])
        assert tctx.options.allow_hosts == intercept_regexes(["*.internal.example"])
        tctx.configure(addon, r4u_intercept_all=True)
        assert tctx.options.allow_hosts == []
        with pytest.raises(exceptions.OptionsError, match="--intercept"):
            tctx.configure(addon, r4u_intercept=["not a host!"], r4u_intercept_all=False)
        with pytest.raises(exceptions.OptionsError, match="--resolve"):
            tctx.configure(addon, r4u_resolve=["api.openai.com"])
        tctx.configure(addon, r4u_resolve=["api.openai.com=127.0.0.1:8443"])
        server = tflow.tserver_conn()
        server.address, server.sni = ("api.openai.com", 443), None
        data = server_hooks.ServerConnectionHookData(server=server, client=tflow.tclient_conn())
        addon.server_connect(data)
        assert server.address == ("127.0.0.1", 8443) and server.sni == "api.openai.com"
        addon.server_connected(data)  # connected: known by its name again, so mitmproxy reuses it
        assert server.address == ("api.openai.com", 443)
        other = tflow.tserver_conn()
        other.address = ("pypi.org", 443)
        addon.server_connect(server_hooks.ServerConnectionHookData(server=other, client=tflow.tclient_conn()))
        assert other.address == ("pypi.org", 443)


def _run(tctx: taddons.context, hook: hooks.Hook) -> None:
    tctx.master.addons.trigger(hook)


def test_capture_and_recorder_hand_the_writer_one_exchange_per_llm_call():
    capture, recorder = Capture(), Recorder()
    with taddons.context(Project(), capture, recorder) as tctx:
        recorder.writer = writer = CollectingWriter()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"18"), (b"x-r4u-tag-run", b"7")]
        flow = _llm_flow(headers=headers)
        _run(tctx, HttpRequestHeadersHook(flow))
        pending = flow.metadata["r4u"]
        assert isinstance(pending, Pending) and pending.route.family == "openai_chat"
        _run(tctx, HttpRequestHook(flow))
        flow.response = tutils.tresp(headers=Headers([(b"content-type", b"text/event-stream")]), content=None)
        _run(tctx, HttpResponseHeadersHook(flow))
        tap = flow.response.stream
        assert isinstance(tap, Tap) and tap.spill is not None  # the recorder hooked the tap to the writer
        for piece in (b'data: {"choices":[]}\n\n', b"data: [DONE]\n\n", b""):
            assert tap(piece) == piece  # passed on unchanged
        _run(tctx, HttpResponseHook(flow))
        not_llm = tflow.tflow(req=tutils.treq(host="pypi.org", path=b"/simple/"), resp=True)
        _run(tctx, HttpRequestHeadersHook(not_llm))
        _run(tctx, HttpResponseHook(not_llm))
    (exchange,) = writer.exchanges  # the pypi.org request was streamed through and not recorded
    assert not_llm.request.stream is True and "r4u" not in not_llm.metadata
    assert set(exchange) == set(Exchange.__required_keys__)  # the optional keys are a WebSocket response's
    assert exchange["id"] == pending.id and exchange["route"] == pending.route
    assert (exchange["path"], exchange["query"]) == ("/v1/chat/completions", "api-version=1")
    assert exchange["tags"] == {"run": "7"} and exchange["status_code"] == 200 and exchange["error"] is None
    assert [data for _, data in exchange["chunks"]] == [b'data: {"choices":[]}\n\n', b"data: [DONE]\n\n"]
    assert exchange["response_bytes"] == 36 and exchange["t_end"] == tap.t_end
    assert exchange["request_body"] == b'{"model":"gpt-4o"}' and exchange["t_sent"] == pending.t_sent
    assert exchange["request_bytes"] == 18 and exchange["request_truncated"] is False
    assert exchange["bodies_lost"] == 0


def test_a_request_body_of_unknown_length_is_streamed_and_kept_up_to_the_cap():
    capture, recorder = Capture(), Recorder()
    with taddons.context(capture, recorder) as tctx:
        tctx.options.r4u_capture_cap = 10
        recorder.writer = writer = CollectingWriter()
        flow = _llm_flow()  # no content-length (a chunked upload): may be larger than the cap
        _run(tctx, HttpRequestHeadersHook(flow))
        copy = flow.request.stream
        assert isinstance(copy, BodyCopy)  # mitmproxy streams it on instead of buffering it whole
        for piece in (b'{"model":', b'"gpt-4o"}', b""):
            assert copy(piece) == piece  # every byte passed on unchanged
        _run(tctx, HttpRequestHook(flow))
        flow.response = tutils.tresp()
        _run(tctx, HttpResponseHeadersHook(flow))
        _run(tctx, HttpResponseHook(flow))
    (exchange,) = writer.exchanges
    assert bytes(exchange["request_body"]) == b'{"model":"' and exchange["request_bytes"] == 18
    assert exchange["request_truncated"] is True


def test_a_failed_call_and_one_cut_off_by_stopping_are_recorded_with_their_reason():
    capture, recorder = Capture(), Recorder()
    with taddons.context(capture, recorder) as tctx:
        recorder.writer = writer = CollectingWriter()
        refused = _llm_flow()
        _run(tctx, HttpRequestHeadersHook(refused))
        refused.error = tflow.terr("[Errno 111] Connection refused")
        _run(tctx, HttpErrorHook(refused))
        unfinished = _llm_flow()
        _run(tctx, HttpRequestHeadersHook(unfinished))
        recorder.done()
    failed, stopped = writer.exchanges
    assert failed["status_code"] is None and failed["error"].startswith("upstream connect failed:")
    assert stopped["error"] == PROXY_STOPPED and writer.closed


def test_a_bug_in_a_hook_costs_a_count_not_the_request(monkeypatch):
    def broken(host: str, path: str) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("r4u_proxy.addons.capture.route", broken)
    capture = Capture()
    before = COUNTERS.snapshot()["addon_errors"]
    with taddons.context(capture) as tctx:
        flow = _llm_flow()
        _run(tctx, HttpRequestHeadersHook(flow))  # does not raise into mitmproxy
    assert COUNTERS.snapshot()["addon_errors"] == before + 1 and "r4u" not in flow.metadata
