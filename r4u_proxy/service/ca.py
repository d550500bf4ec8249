"""The r4u certificate authority and the trust bundles built around it.

mitmproxy signs a certificate for each intercepted host with this CA. Apps trust it
through `ca-bundle.pem`, which keeps every root they trusted before (certifi and the
system store) so that hosts r4u does not intercept keep verifying.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from mitmproxy.certs import CertStore

from r4u_proxy.paths import Home

CA_BASENAME = "mitmproxy"  # mitmproxy looks for <confdir>/mitmproxy-ca.pem


class CAError(ValueError):
    """A certificate file r4u was given cannot be used."""


def ensure_ca(home: Home) -> Path:
    """Create the CA on first start (private key 0600); return the CA certificate path."""
    key_file = home.ca_dir / f"{CA_BASENAME}-ca.pem"
    if not key_file.exists():
        home.ca_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(home.ca_dir, 0o700)
        CertStore.create_store(home.ca_dir, CA_BASENAME, 2048, organization="r4u", cn="r4u local CA")
    for secret in home.ca_dir.glob(f"{CA_BASENAME}-ca.*"):  # .pem and .p12 hold the private key
        os.chmod(secret, 0o600)
    return home.ca_cert


def _default_roots() -> list[Path]:
    roots: list[Path] = []
    try:
        import certifi

        roots.append(Path(certifi.where()))
    except ImportError:  # pragma: no cover - certifi comes with mitmproxy
        pass
    system = ssl.get_default_verify_paths().cafile
    if system and Path(system).is_file():
        roots.append(Path(system))
    return roots


def _write_bundle(target: Path, parts: list[Path]) -> Path:
    seen: set[Path] = set()
    chunks: list[str] = []
    for part in parts:
        resolved = part.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        text = resolved.read_text(encoding="utf-8", errors="replace")
        chunks.append(f"# from {resolved}\n{text.strip()}\n")
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n".join(chunks), encoding="utf-8")
    tmp.replace(target)  # readers never see a half-written bundle
    return target


def write_client_bundle(home: Home) -> Path:
    """ca-bundle.pem: certifi + system roots + the r4u CA (what SSL_CERT_FILE points at)."""
    return _write_bundle(home.ca_bundle, [*_default_roots(), home.ca_cert])


def check_pem(path: str | Path) -> Path:
    """A readable PEM holding at least one certificate, or a CAError saying what is wrong."""
    pem = Path(path).expanduser()
    try:
        text = pem.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CAError(f"--upstream-ca {pem}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CAError(f"--upstream-ca {pem}: cannot read it ({exc.__class__.__name__})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise CAError(f"--upstream-ca {pem}: not a PEM certificate file")
    try:
        ssl.create_default_context(cafile=str(pem))
    except ssl.SSLError as exc:
        raise CAError(f"--upstream-ca {pem}: not a valid certificate ({exc.reason or exc})") from None
    return pem.resolve()


def write_upstream_bundle(home: Home, extra_ca: Path) -> Path:
    """certifi + --upstream-ca: mitmproxy's trusted-CA option replaces certifi, so keep it in."""
    return _write_bundle(home.upstream_bundle, [*_default_roots(), extra_ca])
