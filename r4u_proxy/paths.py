"""Where r4u keeps its files. Everything lives under R4U_HOME (default ~/.r4u)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from r4u.proxy_locator import r4u_home

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4848
DEFAULT_UI_PORT = 8484


def is_loopback(host: str) -> bool:
    """Whether `host` (a listen address or a name) only ever means this machine."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def default_home() -> Path:
    return r4u_home()


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, home: str | Path | None = None) -> Home:
        return cls(Path(home).expanduser().resolve() if home else default_home().resolve())

    @property
    def ca_dir(self) -> Path:  # mitmproxy's confdir: the r4u CA and its private key
        return self.root / "ca"

    @property
    def ca_cert(self) -> Path:  # the CA certificate alone (no key): what NODE_EXTRA_CA_CERTS wants
        return self.ca_dir / "mitmproxy-ca-cert.pem"

    @property
    def ca_bundle(self) -> Path:  # system/certifi roots + the r4u CA: what SSL_CERT_FILE wants
        return self.root / "ca-bundle.pem"

    @property
    def upstream_bundle(self) -> Path:  # certifi + --upstream-ca: what the proxy trusts upstream
        return self.root / "upstream-ca-bundle.pem"

    @property
    def db(self) -> Path:
        return self.root / "traces.db"

    @property
    def state_file(self) -> Path:  # the running proxy: pid, ports, urls (see r4u_proxy/state.py)
        return self.root / "proxy.json"

    @property
    def stats_file(self) -> Path:  # the running proxy's counters, rewritten about once a second
        return self.root / "proxy-stats.json"

    @property
    def export_stats_file(self) -> Path:  # the live OTLP exporter's counters (r4u_proxy/export/live.py)
        return self.root / "export-stats.json"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"
