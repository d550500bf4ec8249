"""The shim's building blocks, in-process: proxy URL with a project, NO_PROXY, finding the proxy, CA bundles."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
from clients.fake_proxy import FakeProxy

from r4u.ca_bundle import merge_certificates, read_certificates
from r4u.environment import MANAGED_VARS, no_proxy_value, project_proxy_url, recording_environment
from r4u.proxy_locator import ProxyUnavailable, find_running_proxy, locate_proxy
from r4u_proxy.simulator.certs import create_identity


@pytest.fixture
def fake_proxy(tmp_path: Path):
    proxy = FakeProxy(tmp_path)
    yield proxy
    proxy.close()


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A CA the app trusted before r4u (a company CA, a local dev CA)."""
    return create_identity(tmp_path / "other-ca").ca_cert


def test_project_goes_into_the_proxy_url_user_part():
    assert project_proxy_url("http://127.0.0.1:4848", "billing-bot") == "http://billing-bot:r4u@127.0.0.1:4848"
    assert project_proxy_url("http://old:pw@127.0.0.1:4848", None) == "http://127.0.0.1:4848"
    # A proxy beyond loopback has its password in its URL (user `_`): it is kept, the project added.
    assert project_proxy_url("http://_:s3cret@0.0.0.0:4848", None) == "http://_:s3cret@0.0.0.0:4848"
    assert project_proxy_url("http://_:s3cret@0.0.0.0:4848", "bot") == "http://bot:s3cret@0.0.0.0:4848"
    # Characters that would end the user part are escaped; clients unescape them before sending.
    assert project_proxy_url("http://127.0.0.1:4848", "a b@c:d") == "http://a%20b%40c%3Ad:r4u@127.0.0.1:4848"


def test_no_proxy_keeps_the_apps_entries_and_adds_local_hosts():
    assert no_proxy_value("", include_local=False) == "localhost,127.0.0.1,::1"
    assert no_proxy_value("internal.corp, localhost", include_local=False) == "internal.corp,localhost,127.0.0.1,::1"


def test_include_local_takes_local_hosts_out_of_no_proxy():
    assert no_proxy_value("internal.corp,localhost,127.0.0.1,::1,.localhost", include_local=True) == "internal.corp"


def test_environment_points_every_client_at_the_running_proxy(fake_proxy: FakeProxy):
    base = {"R4U_HOME": str(fake_proxy.home), "PATH": os.environ.get("PATH", "")}
    values = recording_environment(project="billing-bot", base_env=base)
    assert set(values) == set(MANAGED_VARS)
    url = f"http://billing-bot:r4u@127.0.0.1:{fake_proxy.port}"
    assert values["HTTPS_PROXY"] == values["https_proxy"] == values["HTTP_PROXY"] == values["http_proxy"] == url
    assert values["NO_PROXY"] == values["no_proxy"] == "localhost,127.0.0.1,::1"
    assert values["SSL_CERT_FILE"] == values["REQUESTS_CA_BUNDLE"] == values["CURL_CA_BUNDLE"]
    assert values["NODE_USE_ENV_PROXY"] == "1"
    assert Path(values["NODE_EXTRA_CA_CERTS"]) == fake_proxy.ca_cert  # no earlier extra file to keep


def test_bundle_keeps_every_root_trusted_before_plus_the_r4u_ca(fake_proxy: FakeProxy, other_ca: Path):
    base = {"R4U_HOME": str(fake_proxy.home), "SSL_CERT_FILE": str(other_ca)}
    bundle = Path(recording_environment(base_env=base)["SSL_CERT_FILE"])
    certs = read_certificates(bundle)
    for must_have in (other_ca, fake_proxy.ca_cert):
        assert read_certificates(must_have)[0] in certs
    system_roots = read_certificates(Path(ssl.get_default_verify_paths().openssl_cafile))
    assert system_roots and set(system_roots) <= set(certs)
    assert len(certs) == len({b"".join(c.split()) for c in certs}), "duplicates in the bundle"
    # OpenSSL loads it: the file is usable as a trust store.
    loaded = ssl.create_default_context(cafile=str(bundle)).get_ca_certs()
    assert len(loaded) == len(certs)


def test_requests_and_curl_bundles_are_kept_too(fake_proxy: FakeProxy, other_ca: Path, tmp_path: Path):
    third_ca = create_identity(tmp_path / "third-ca").ca_cert
    base = {"R4U_HOME": str(fake_proxy.home), "REQUESTS_CA_BUNDLE": str(other_ca), "CURL_CA_BUNDLE": str(third_ca)}
    certs = read_certificates(Path(recording_environment(base_env=base)["REQUESTS_CA_BUNDLE"]))
    assert read_certificates(other_ca)[0] in certs and read_certificates(third_ca)[0] in certs


def test_certificates_from_an_ssl_cert_dir_are_kept(fake_proxy: FakeProxy, other_ca: Path, tmp_path: Path):
    # httpx2 (openai, anthropic) reads only SSL_CERT_FILE once it is set: a CA directory the app relied
    # on must end up in the file.
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    (cert_dir / "0a1b2c3d.0").write_bytes(other_ca.read_bytes())  # OpenSSL's hashed-name layout
    (cert_dir / "README").write_text("not a certificate")
    bundle = recording_environment(base_env={"R4U_HOME": str(fake_proxy.home), "SSL_CERT_DIR": str(cert_dir)})
    assert read_certificates(other_ca)[0] in read_certificates(Path(bundle["SSL_CERT_FILE"]))


def test_an_earlier_node_extra_ca_file_is_merged_not_replaced(fake_proxy: FakeProxy, other_ca: Path):
    base = {"R4U_HOME": str(fake_proxy.home), "NODE_EXTRA_CA_CERTS": str(other_ca)}
    node_file = Path(recording_environment(base_env=base)["NODE_EXTRA_CA_CERTS"])
    assert read_certificates(node_file) == read_certificates(other_ca) + read_certificates(fake_proxy.ca_cert)


def test_same_trust_gives_the_same_bundle_file(fake_proxy: FakeProxy):
    base = {"R4U_HOME": str(fake_proxy.home)}
    first = recording_environment(base_env=base)["SSL_CERT_FILE"]
    # Enabling again from an environment that already points at the bundle changes nothing.
    again = recording_environment(base_env={**base, "SSL_CERT_FILE": first})["SSL_CERT_FILE"]
    assert first == again
    assert list((fake_proxy.home / "bundles").glob("ca-bundle-*.pem")) == [Path(first)]


def test_merge_ignores_missing_files_and_non_certificate_text(tmp_path: Path, other_ca: Path):
    noisy = tmp_path / "noisy.pem"
    noisy.write_bytes(b"# a comment\n" + other_ca.read_bytes().replace(b"\n", b"\r\n") + b"trailing junk\n")
    merged = merge_certificates([tmp_path / "missing.pem", noisy, other_ca])
    assert merged.count(b"BEGIN CERTIFICATE") == 1 and b"junk" not in merged


def test_a_stale_state_file_is_not_a_running_proxy(fake_proxy: FakeProxy):
    assert find_running_proxy(fake_proxy.home) is not None
    fake_proxy.write_state(pid=2**22 + 12345)  # no such process
    assert find_running_proxy(fake_proxy.home) is None
    fake_proxy.write_state()
    fake_proxy.close()  # the port no longer accepts connections
    assert find_running_proxy(fake_proxy.home) is None
    with pytest.raises(ProxyUnavailable, match="no r4u proxy is running"):
        locate_proxy(fake_proxy.home, start=False)


def test_explicit_proxy_url_uses_its_project_and_the_homes_ca(fake_proxy: FakeProxy):
    (fake_proxy.home / "proxy.json").unlink()
    base = {"R4U_HOME": str(fake_proxy.home)}
    values = recording_environment(proxy_url=f"http://team-a@127.0.0.1:{fake_proxy.port}", base_env=base)
    assert values["HTTPS_PROXY"] == f"http://team-a:r4u@127.0.0.1:{fake_proxy.port}"
    assert read_certificates(fake_proxy.ca_cert)[0] in read_certificates(Path(values["SSL_CERT_FILE"]))
