"""The CA bundle an app trusts once r4u is on: every root it trusted before, plus the r4u CA.

Pointing SSL_CERT_FILE at the r4u CA alone would break every TLS connection the proxy
does not intercept (or that goes direct, like localhost). So the bundle is built from
what the process trusted before: an existing SSL_CERT_FILE / REQUESTS_CA_BUNDLE /
CURL_CA_BUNDLE (and the other CA variables r4u sets) / SSL_CERT_DIR, OpenSSL's default file and certifi (when importable).
Bundles are content-addressed files under R4U_HOME/bundles, so concurrent processes
building the same bundle write the same file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
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
    named, directories, defaults = _trust_inputs(env)
    return [*named, *(path for directory in directories for path in _cert_dir_files(directory)), *defaults]


def _trust_inputs(env: Mapping[str, str]) -> tuple[list[Path], list[Path], list[Path]]:
    """(files the environment names, SSL_CERT_DIR directories, OpenSSL's and certifi's files)."""
    named = [Path(env[name]) for name in PREVIOUS_BUNDLE_VARS if env.get(name)]
    directories = [Path(d) for d in env.get("SSL_CERT_DIR", "").split(os.pathsep) if d]
    defaults = [Path(path) for path in (_openssl_default_file(), _certifi_file()) if path]
    return named, directories, defaults


def _certifi_file() -> str | None:
    """certifi's bundle when the app has certifi (the shim does not depend on it), without importing it."""
    try:
        spec = importlib.util.find_spec("certifi")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    candidate = Path(spec.origin).with_name("cacert.pem")
    if candidate.is_file():
        return str(candidate)
    import certifi  # a zipped install: let certifi extract it

    return certifi.where()


def _openssl_default_file() -> str | None:
    try:
        import _ssl  # what ssl.get_default_verify_paths() reads; importing `ssl` costs r4u run ~3× more

        return _ssl.get_default_verify_paths()[1]
    except (ImportError, AttributeError, IndexError, TypeError):
        import ssl

        return ssl.get_default_verify_paths().openssl_cafile


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
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _owned_by_us(directory):
                continue  # a shared temp dir someone else made: its files could be swapped under us
            if target.is_file() and target.read_bytes() == content:
                return target
            partial = directory / f".{target.name}.{os.getpid()}.tmp"
            write_private(partial, content)
            os.replace(partial, target)  # readers never see half a bundle
            return target
        except OSError:
            continue  # R4U_HOME not writable: fall back to the temp dir
    raise OSError(f"cannot write {stem}{suffix} under {home / 'bundles'} or the temp directory")


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, whatever the app's umask (R4U_HOME is the owner's alone)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _owned_by_us(directory: Path) -> bool:
    """The trust bundles and the Node preload (code Node runs) must live where only we can write."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    stat = directory.stat()
    return stat.st_uid == getuid() and not stat.st_mode & 0o022


def _user_tag() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else os.environ.get("USERNAME", "user")


def app_bundle(env: Mapping[str, str], r4u_ca: Path, home: Path) -> Path:
    """The file for SSL_CERT_FILE / REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    Merging a system store (often hundreds of files in SSL_CERT_DIR) takes longer than everything else
    `r4u run` does, so the result is remembered per set of sources (path, size, mtime): a later run with
    the same sources reuses the bundle without reading them."""
    if not read_certificates(r4u_ca):
        raise OSError(f"no r4u CA certificate in {r4u_ca}")
    named, directories, defaults = _trust_inputs(env)
    # Directories count by their own mtime (a file added or removed changes it), not file by file.
    memo = home / "bundles" / f"sources-{_sources_key([*named, *directories, *defaults, r4u_ca])}"
    try:
        remembered = Path(memo.read_text(encoding="utf-8").strip())
        if remembered.is_file():
            return remembered
    except OSError:
        pass
    bundle = write_bundle(merge_certificates([*previous_trust_sources(env), r4u_ca]), home)
    with contextlib.suppress(OSError):  # only a lost shortcut: the next run merges again
        write_private(memo, str(bundle).encode("utf-8"))
    return bundle


def _sources_key(sources: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for source in sources:
        try:
            stat = source.stat()
            digest.update(f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{source}\0missing\n".encode())
    return digest.hexdigest()[:24]


def node_extra_ca_file(env: Mapping[str, str], r4u_ca: Path, home: Path) -> Path:
    """The file for NODE_EXTRA_CA_CERTS. Node reads one extra file beside its own roots,
    so an extra file the app already had is kept by merging it with the r4u CA."""
    previous = env.get("NODE_EXTRA_CA_CERTS")
    if not previous or Path(previous) == r4u_ca:
        return r4u_ca
    return write_bundle(merge_certificates([Path(previous), r4u_ca]), home, stem="node-extra-ca")
