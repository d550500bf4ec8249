"""addons/websocket.py in-process (mitmproxy.test.taddons): what it copies, what it leaves to mitmproxy, when it
hands batches to the writer, and that mitmproxy keeps no message history for any WebSocket."""

from __future__ import annotations

import asyncio

from mitmproxy.test import taddons, tflow
from mitmproxy.websocket import WebSocketMessage
from wsproto.frame_protocol import Opcode

from r4u_proxy.addons import capture, recorder, websocket
from r4u_proxy.store.writer import SOCKET


class FakeWriter:
    """Stands in for TraceWriter's queue: records batches, or refuses them like a full queue."""

    def __init__(self, full: bool = False) -> None:
        self.batches: list[tuple] = []
        self.full = full

    def submit_socket(self, batch: tuple) -> bool:
        if self.full:
            return False
        self.batches.append(batch)
        return True


def llm_socket_flow(host: str = "api.openai.com", path: str = "/v1/responses"):
    flow = tflow.twebsocketflow(messages=False)
    flow.request.host, flow.request.path, flow.request.scheme, flow.request.port = host, path, "https", 443
    return flow


def run(scenario) -> None:
    async def main() -> None:
        tap, rec = websocket.WebSocketTap(), recorder.Recorder()
        with taddons.context(capture.Capture(), tap, rec) as tctx:
            tctx.master.addons.get("capture")  # options of all three are loaded
            await scenario(tap, rec, tctx)

    asyncio.run(main())


def open_socket(tap, rec, tctx, path: str = "/v1/responses", writer: FakeWriter | None = None):
    """An LLM WebSocket as mitmproxy hands it over after the upgrade: routed by capture, started by the tap."""
    rec.writer = writer or FakeWriter()
    flow = llm_socket_flow("api.openai.com", path)
    tctx.master.addons.get("capture").requestheaders(flow)
    tap.websocket_start(flow)
    return flow


def send(tap: websocket.WebSocketTap, flow, from_client: bool, content: bytes, text: bool = True) -> WebSocketMessage:
    message = WebSocketMessage(Opcode.TEXT if text else Opcode.BINARY, from_client, content)
    flow.websocket.messages.append(message)
    tap.websocket_message(flow)
    return message


def test_llm_socket_messages_are_copied_in_time_batches_and_mitmproxy_keeps_none() -> None:
    async def scenario(tap, rec, tctx) -> None:
        flow = open_socket(tap, rec, tctx)
        create = b'{"type":"response.create","model":"gpt-5"}'
        sent = send(tap, flow, True, create)
        send(tap, flow, False, b'{"type":"response.created"}')
        assert flow.websocket.messages == []  # the history mitmproxy would keep for the whole connection
        assert sent.content == create and not sent.dropped  # the message itself goes on untouched
        assert rec.writer.batches == []  # held for at most FLUSH_AFTER_S ...
        await asyncio.sleep(websocket.FLUSH_AFTER_S * 3)
        (batch,) = rec.writer.batches  # ... then handed over together
        kind, socket_id, opening, messages, lost, ending = batch
        assert kind == SOCKET and socket_id == flow.metadata["r4u"].id and lost == 0 and ending is None
        assert opening["path"] == "/v1/responses" and opening["status_code"] == 101
        assert opening["capture_cap"] == tctx.options.r4u_capture_cap
        assert [(m[1], m[2], m[3]) for m in messages] == [(True, websocket.TEXT, create),
                                                          (False, websocket.TEXT, b'{"type":"response.created"}')]
        flow.websocket.close_code, flow.websocket.closed_by_client = 1000, True
        tap.websocket_end(flow)
        assert rec.writer.batches[-1][2] is None  # the opening goes once
        assert rec.writer.batches[-1][5]["close_code"] == 1000 and tap.sockets == {}

    run(scenario)


def test_full_batches_go_at_once_and_binary_frames_are_summarised() -> None:
    async def scenario(tap, rec, tctx) -> None:
        flow = open_socket(tap, rec, tctx, "/v1/realtime")
        audio = b"RIFF" + bytes(300_000)
        send(tap, flow, True, audio, text=False)
        send(tap, flow, False, b'{"serverContent": {}}', text=False)
        for _ in range(websocket.BATCH_MESSAGES):
            send(tap, flow, False, b'{"type":"response.output_text.delta","delta":"x"}')
        assert len(rec.writer.batches) == 1  # BATCH_MESSAGES reached: no waiting for the timer
        messages = rec.writer.batches[0][3]
        assert messages[0][2:] == (websocket.BINARY, audio[: websocket.BINARY_HEAD], len(audio))
        assert messages[1][2:] == (websocket.BINARY_JSON, b'{"serverContent": {}}', 21)  # JSON sent as binary

    run(scenario)


def test_messages_past_the_capture_cap_are_cut_in_the_copy_only() -> None:
    async def scenario(tap, rec, tctx) -> None:
        tctx.options.r4u_capture_cap = 1000
        flow = open_socket(tap, rec, tctx)
        big = b'{"type":"response.create","input":"' + b"a" * 5000 + b'"}'
        message = send(tap, flow, True, big)
        tap.websocket_end(flow)
        (copied,) = rec.writer.batches[0][3]
        assert len(copied[3]) == 1000 and copied[4] == len(big) and message.content == big

    run(scenario)


def test_other_websockets_pass_with_nothing_kept() -> None:
    async def scenario(tap, rec, tctx) -> None:
        flow = open_socket(tap, rec, tctx, "/v1/some-dashboard-feed")
        message = send(tap, flow, False, b"hello")
        tap.websocket_end(flow)
        await asyncio.sleep(websocket.FLUSH_AFTER_S * 2)
        assert rec.writer.batches == [] and flow.websocket.messages == [] and message.content == b"hello"

    run(scenario)


def test_a_full_writer_queue_costs_the_copy_never_the_message() -> None:
    async def scenario(tap, rec, tctx) -> None:
        flow = open_socket(tap, rec, tctx, writer=FakeWriter(full=True))
        message = send(tap, flow, True, b'{"type":"response.create"}')
        await asyncio.sleep(websocket.FLUSH_AFTER_S * 3)
        socket = tap.sockets[flow.id]
        assert socket.lost == 1 and socket.opening is not None  # the opening waits for a batch that gets in
        rec.writer.full = False
        tap.websocket_end(flow)
        batch = rec.writer.batches[-1]
        assert batch[2] is not None and batch[4] == 1 and message.content == b'{"type":"response.create"}'

    run(scenario)


def test_upgrade_response_is_left_to_the_websocket_addon() -> None:
    async def scenario(tap, rec, tctx) -> None:
        class Queue(FakeWriter):
            def submit(self, exchange) -> bool:
                self.batches.append(exchange)
                return True

        rec.writer = Queue()
        flow = llm_socket_flow()
        tctx.master.addons.get("capture").requestheaders(flow)
        rec.requestheaders(flow)
        rec.response(flow)  # the 101: no handshake-only trace any more
        assert rec.writer.batches == [] and rec.inflight == {}

    run(scenario)


def test_stopping_the_proxy_hands_over_every_open_socket() -> None:
    async def scenario(tap, rec, tctx) -> None:
        flow = open_socket(tap, rec, tctx)
        send(tap, flow, True, b'{"type":"response.create"}')
        tap.done()  # before the recorder closes the writer: addons/websocket.py comes first
        (batch,) = rec.writer.batches
        assert len(batch[3]) == 1 and batch[5]["error"] == "proxy stopped before the response ended"
        assert tap.sockets == {}

    run(scenario)


def test_without_a_writer_nothing_is_kept() -> None:
    async def scenario(tap, rec, tctx) -> None:
        flow = llm_socket_flow()
        tctx.master.addons.get("capture").requestheaders(flow)
        tap.websocket_start(flow)  # rec.writer is None: the proxy runs without a database
        message = send(tap, flow, True, b'{"type":"response.create"}')
        assert tap.sockets == {} and flow.websocket.messages == [] and message.content == b'{"type":"response.create"}'

    run(scenario)
