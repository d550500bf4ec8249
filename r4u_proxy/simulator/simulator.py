"""`Simulator`: the fake LLM upstream, run in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import collections
import tempfile
import threading
from pathlib import Path

from r4u_proxy.simulator.certs import create_identity
from r4u_proxy.simulator.fixtures import default_fixtures_dir
from r4u_proxy.simulator.server import ConnectionHandler, ReceivedRequest
from r4u_proxy.simulator.websocket_server import WebSocketRecord


class Simulator:
    """A local HTTP(S) server speaking the OpenAI, Anthropic and Gemini APIs.

    >>> with Simulator(tls=True) as sim:   # port 0: a free port is picked
    ...     sim.base_url                    # "https://localhost:PORT"; trust sim.ca_path
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = True,
        cert_dir: str | Path | None = None,
        fixtures_dir: str | Path | None = None,
        extra_names: tuple[str, ...] | list[str] = (),
        max_recorded: int = 1000,
    ) -> None:
        self.host = host
        self.tls = tls
        self.fixtures_dir = Path(fixtures_dir) if fixtures_dir else default_fixtures_dir()
        self._requested_port = port
        self._port: int | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if tls and cert_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="r4u-sim-ca-")
            cert_dir = self._tempdir.name
        self.cert_dir = Path(cert_dir) if cert_dir else None
        self._identity = create_identity(self.cert_dir, extra_names) if tls and self.cert_dir else None
        self._recorded: collections.deque[ReceivedRequest] = collections.deque(maxlen=max_recorded)
        self._sockets: collections.deque[WebSocketRecord] = collections.deque(maxlen=100)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    # ---- what tests and callers use -------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not running")
        return self._port

    @property
    def ca_path(self) -> Path | None:
        """The CA certificate clients must trust (None for plain HTTP)."""
        return self._identity.ca_cert if self._identity else None

    @property
    def base_url(self) -> str:
        """`https://localhost:PORT` (the certificate covers localhost) or `http://127.0.0.1:PORT`."""
        return f"https://localhost:{self.port}" if self.tls else f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The requests received so far, oldest first (bounded by max_recorded)."""
        return list(self._recorded)

    @property
    def last_request(self) -> ReceivedRequest | None:
        return self._recorded[-1] if self._recorded else None

    def clear_requests(self) -> None:
        self._recorded.clear()
        self._sockets.clear()

    @property
    def websockets(self) -> list[WebSocketRecord]:
        """The WebSocket connections served so far, oldest first, with every message each way."""
        return list(self._sockets)

    def info(self) -> dict[str, object]:
        return {
            "port": self.port,
            "host": self.host,
            "tls": self.tls,
            "ca": str(self.ca_path) if self.ca_path else None,
            "url": self.base_url,
        }

    # ---- lifecycle ------------------------------------------------------------------------------
    async def _open(self) -> None:
        handler = ConnectionHandler(self.fixtures_dir, self._recorded.append, self._sockets.append)

        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._connections.add(task)
            try:
                await handler.serve(reader, writer)
            finally:
                self._connections.discard(task)

        ssl_context = self._identity.ssl_context() if self._identity else None
        self._server = await asyncio.start_server(
            on_connection, self.host, self._requested_port, ssl=ssl_context, limit=1 << 20, backlog=512
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=2)

    def start(self) -> Simulator:
        """Serve from a daemon thread; returns once the port is listening."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._open())
            except BaseException as error:  # e.g. the port is taken: report it to start()'s caller
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._close())
                loop.close()

        self._thread = threading.Thread(target=run, name="r4u-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._thread = None
        self._port = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def serve_forever(self, on_ready=None) -> None:
        """Serve in the current event loop until cancelled (the CLI's foreground mode)."""
        await self._open()
        if on_ready is not None:
            on_ready(self)
        try:
            assert self._server is not None
            await self._server.serve_forever()
        finally:
            await self._close()
