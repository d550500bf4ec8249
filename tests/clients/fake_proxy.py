"""A stand-in for a running proxy, for shim tests that need no traffic recorded.

It is what the shim looks at: `R4U_HOME/proxy.json`, a port that accepts connections and
a CA certificate under `ca/`. (Runs in the pytest process, not in .venv-app.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
from pathlib import Path

from r4u_proxy.simulator.certs import create_identity


class FakeProxy:
    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.ca_cert = self.home / "ca" / "mitmproxy-ca-cert.pem"
        self.ca_cert.parent.mkdir(parents=True)
        shutil.copy(create_identity(root / "fake-r4u-ca").ca_cert, self.ca_cert)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept_and_close, daemon=True).start()
        self.write_state()

    def write_state(self, **overrides: object) -> None:
        state = {
            "pid": os.getpid(), "host": "127.0.0.1", "port": self.port, "proxy_url": self.url,
            "home": str(self.home), "ca_cert": str(self.ca_cert), **overrides,
        }  # fmt: skip
        (self.home / "proxy.json").write_text(json.dumps(state))

    def _accept_and_close(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed
                return
            connection.close()

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the port listening.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
