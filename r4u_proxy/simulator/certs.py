"""The simulator's own certificate authority and its server certificate.

The CA is kept in the cert dir (`ca.pem` + `ca-key.pem`) and reused when it is already there, so a test
session and a benchmark child process can share one trust file. The server certificate is minted fresh in
memory on every start (EC keys make that cheap) because the extra names differ between runs.

Extensions follow what strict verifiers insist on (Python 3.13 sets VERIFY_X509_STRICT by default): critical
basic constraints and key usage, subject and authority key identifiers, serverAuth EKU, SANs on the leaf.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from r4u.file_lock import exclusive

# Hosts the simulator answers for out of the box: the providers r4u knows plus local names.
DEFAULT_NAMES: tuple[str, ...] = (
    "api.openai.com",
    "api.anthropic.com",
    "generativelanguage.googleapis.com",
    "cloudcode-pa.googleapis.com",
    "api.groq.com",
    "openrouter.ai",
    "api.mistral.ai",
    "api.deepseek.com",
    "bedrock-runtime.us-east-1.amazonaws.com",
    "us-central1-aiplatform.googleapis.com",
    "us-east5-aiplatform.googleapis.com",
    "aiplatform.googleapis.com",
    "r4u-test.openai.azure.com",
    "r4u-test.services.ai.azure.com",
    "api.cohere.com",
    "router.huggingface.co",
    "api-inference.huggingface.co",
    "example.test",
    "localhost",
    "127.0.0.1",
)


@dataclass(frozen=True)
class ServerIdentity:
    ca_cert: Path  # what clients and proxies must trust
    cert_pem: bytes  # the leaf certificate, signed by the CA
    key_pem: bytes

    def ssl_context(self) -> ssl.SSLContext:
        """A server-side TLS context speaking HTTP/1.1 only (ALPN), like a plain API endpoint."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # load_cert_chain only reads files; a private temp dir keeps concurrent simulators apart.
        with tempfile.TemporaryDirectory(prefix="r4u-sim-") as tmp:
            cert_path, key_path = Path(tmp) / "server.pem", Path(tmp) / "server-key.pem"
            cert_path.write_bytes(self.cert_pem)
            _write_private(key_path, self.key_pem)
            context.load_cert_chain(cert_path, key_path)
        context.set_alpn_protocols(["http/1.1"])
        return context


def _private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _new_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "r4u simulator test CA")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _load_or_create_ca(cert_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_path, key_path = cert_dir / "ca.pem", cert_dir / "ca-key.pem"
    # Serialise CA creation between processes sharing a cert dir (a test run and a bench child).
    with exclusive(cert_dir / ".lock"):
        if ca_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if isinstance(key, ec.EllipticCurvePrivateKey):
                return cert, key
        cert, key = _new_ca()
        _write_private(key_path, _private_key_pem(key))
        # Written under a temp name and renamed: a reader never sees half a ca.pem.
        partial = ca_path.with_name(f".ca-{os.getpid()}.pem")
        partial.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        partial.replace(ca_path)
        return cert, key


def _subject_alt_names(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def create_identity(cert_dir: str | Path, extra_names: tuple[str, ...] | list[str] = ()) -> ServerIdentity:
    """Write (or reuse) the CA in `cert_dir` and mint a server certificate for the default + extra names."""
    cert_dir = Path(cert_dir)
    cert_dir.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _load_or_create_ca(cert_dir)

    names = list(dict.fromkeys([*DEFAULT_NAMES, *extra_names]))  # keep order, drop duplicates
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_subject_alt_names(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ServerIdentity(
        ca_cert=cert_dir / "ca.pem",
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=_private_key_pem(key),
    )
