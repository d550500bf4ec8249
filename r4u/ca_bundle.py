"""The CA bundle an app trusts once r4u is on: every root it trusted before, plus the r4u CA.

Pointing SSL_CERT_FILE at the r4u CA alone would break every TLS connection the proxy
does not intercept (or that goes direct, like localhost). So the bundle is built from
what the process trusted before: an existing SSL_CERT_FILE / REQUESTS_CA_BUNDLE /
CURL_CA_BUNDLE (and the other CA variables r4u sets) / SSL_CERT_DIR, OpenSSL's default file and certifi (when importable).
Bundles are content-addressed files under R4U_HOME/bundles, so concurrent processes
building the same bundle write the same file.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

_PEM_CERT = re.compile(
    rb"-----BEGIN (TRUSTED )?CERTIFICATE-----\s.+?-----END \1?CERTIFICATE-----", re.DOTALL
)
# The files OpenSSL keeps in a CA directory: <8 hex digits of subject hash>.<n>, or plain PEM files.
_CERT_DIR_ENTRY = re.compile(r"([0-9a-fA-F]{8}\.\d+|.+\.(pem|crt))")
# App-side variables that name a CA file the process trusted before r4u.
PREVIOUS_BUNDLE_VARS = (
    "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "CODEX_CA_CERTIFICATE", "AWS_CA_BUNDLE", "DENO_CERT",
)  # fmt: skip


def previous_trust_sources(env: Mapping[str, str]) -> list[Path]:
    """Files holding the roots the process trusts without r4u, most specific first."""
    sources = [Path(env[name]) for name in PREVIOUS_BUNDLE_VARS if env.get(name)]
    cert_dir = env.get("SSL_CERT_DIR")
    if cert_dir:
        for directory in cert_dir.split(os.pathsep):
            sources.extend(_cert_dir_files(Path(directory)))
    default_file = ssl.get_default_verify_paths().openssl_cafile
    if default_file:
        sources.append(Path(default_file))
    try:
        import certifi  # only when the app has it; the shim does not depend on it

        sources.append(Path(certifi.where()))
    except ImportError:
        pass
    return sources


def _cert_dir_files(directory: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [directory / name for name in names if _CERT_DIR_ENTRY.fullmatch(name)]


def read_certificates(path: Path) -> list[bytes]:
    """The PEM certificate blocks of a file; [] when it is missing or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    return [match.group(0) for match in _PEM_CERT.finditer(data)]


def merge_certificates(sources: Iterable[Path]) -> bytes:
    """All certificates of `sources`, deduplicated, in first-seen order."""
    seen: set[bytes] = set()
    blocks: list[bytes] = []
    for source in sources:
        for block in read_certificates(source):
            key = b"".join(block.split())  # the same certificate, wrapped differently, is one
            if key not in seen:
                seen.add(key)
                blocks.append(block.replace(b"\r\n", b"\n"))
    return b"\n".join(blocks) + b"\n" if blocks else b""


def write_bundle(content: bytes, home: Path, stem: str = "ca-bundle", suffix: str = ".pem") -> Path:
    """Store `content` under a name derived from it and return that path."""
    digest = hashlib.sha256(content).hexdigest()[:16]
    for directory in (home / "bundles", Path(tempfile.gettempdir()) / f"r4u-bundles-{_user_tag()}"):
        target = directory / f"{stem}-{digest}{suffix}"
        try:
            if target.is_file() and target.read_bytes() == content:
                return target
            directory.mkdir(parents=True, exist_ok=True)
            partial = directory / f".{target.name}.{os.getpid()}.tmp"
            partial.write_bytes(content)
            os.replace(partial, target)  # readers never see half a bundle
            return target
        except OSError:
            continue  # R4U_HOME not writable: fall back to the temp dir
    raise OSError(f"cannot write {stem}{suffix} under {home / 'bundles'} or the temp directory")


def _user_tag() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else os.environ.get("USERNAME", "user")


def app_bundle(env: Mapping[str, str], r4u_ca: Path, home: Path) -> Path:
    """The file for SSL_CERT_FILE / REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE."""
    if not read_certificates(r4u_ca):
        raise OSError(f"no r4u CA certificate in {r4u_ca}")
    return write_bundle(merge_certificates([*previous_trust_sources(env), r4u_ca]), home)


def node_extra_ca_file(env: Mapping[str, str], r4u_ca: Path, home: Path) -> Path:
    """The file for NODE_EXTRA_CA_CERTS. Node reads one extra file beside its own roots,
    so an extra file the app already had is kept by merging it with the r4u CA."""
    previous = env.get("NODE_EXTRA_CA_CERTS")
    if not previous or Path(previous) == r4u_ca:
        return r4u_ca
    return write_bundle(merge_certificates([Path(previous), r4u_ca]), home, stem="node-extra-ca")
