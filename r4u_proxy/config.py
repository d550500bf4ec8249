"""The proxy's configuration: one validated model built by the CLI (or by tests)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from r4u_proxy.paths import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_UI_PORT, Home


class ProxyConfig(BaseModel):
    host: str = DEFAULT_HOST
    port: int = Field(DEFAULT_PORT, ge=0, le=65535)
    home: Path
    db: Path
    ui: bool = True
    ui_host: str = DEFAULT_HOST
    ui_port: int = Field(DEFAULT_UI_PORT, ge=0, le=65535)
    upstream_ca: Path | None = None  # already checked to be a readable PEM
    # Forward through this proxy (mitmproxy's upstream mode). The URL may hold credentials: it is kept in
    # memory and handed to a detached child through its environment, never written to disk or argv.
    upstream_proxy: SecretStr | None = None
    resolve: list[str] = []  # HOST=IP:PORT, already checked
    intercept: list[str] = []  # extra host globs
    capture_cap: int = 10 * 1024 * 1024  # bytes stored of each request and response body
    queue_bytes: int = 256 * 1024 * 1024  # traces held for the writer until it confirms them
    redact: list[str] = []  # extra regular expressions redacted before storage, already checked
    password: str | None = None  # proxy auth; required when `host` is not a loopback address
    allow_private_upstream: bool = False  # relay to loopback/private addresses although bound beyond loopback
    grouping: bool = True
    otlp_endpoint: str | None = None  # live export (r4u_proxy/export/live.py); None: off
    otlp_headers: dict[str, str] = {}
    otlp_content: str = "none"  # none | span

    @property
    def paths(self) -> Home:
        return Home(self.home)
