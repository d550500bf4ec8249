"""A small company-style forward proxy for tests: HTTP CONNECT only, Basic auth required, its own "DNS".

It stands where a corporate proxy stands, in front of the simulator: it refuses a CONNECT without the
right Proxy-Authorization (407), resolves names through `hosts` (api.openai.com → the simulator), pipes
bytes both ways and remembers every CONNECT it saw.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class SeenConnect:
    target: str  # host:port as asked
    authorized: bool


class ForwardProxy:
    def __init__(self, user: str, password: str, hosts: dict[str, tuple[str, int]]) -> None:
        self.expected_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.hosts = hosts
        self.seen: list[SeenConnect] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{user}:{password}@127.0.0.1:{self.port}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            head, _, rest = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            auth = next((v for k, v in headers.items() if k.lower() == "proxy-authorization"), None)
            authorized = auth == self.expected_auth
            self.seen.append(SeenConnect(target, authorized))
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n")
                return
            if not authorized:
                client.sendall(b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\n'
                               b"content-length: 0\r\n\r\n")  # fmt: skip
                return
            host, _, port = target.rpartition(":")
            address = self.hosts.get(host.lower(), (host, int(port)))
            try:
                upstream = socket.create_connection(address, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                pump.start()
                _pipe(client, upstream)
                pump.join(timeout=30)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
