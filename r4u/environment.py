"""The environment variables that send a process's HTTP(S) calls through the r4u proxy.

Shared by `r4u.enable()` (inside the app) and `r4u env` / `r4u run` (the CLI), so a
shell, a child process and an enabled Python process see exactly the same settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from .ca_bundle import app_bundle, node_extra_ca_file
from .node_preload import installed_preload, node_options
from .proxy_locator import RunningProxy, locate_proxy, proxy_at, r4u_home
from .upstream import MARKER_ENV, foreign_proxy, upstream_mismatch

# Both spellings: urllib and requests prefer the lowercase one when both exist, curl
# ignores uppercase HTTP_PROXY, and an old value in either would otherwise win.
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
NO_PROXY_VARS = ("NO_PROXY", "no_proxy")
# The CA bundle under every name a client reads it from: OpenSSL-based clients, requests, curl, and the
# ones that read only their own variable (Codex CLI, botocore, Deno).
CA_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "CODEX_CA_CERTIFICATE", "AWS_CA_BUNDLE", "DENO_CERT")
NODE_VARS = ("NODE_EXTRA_CA_CERTS", "NODE_USE_ENV_PROXY", "NODE_OPTIONS")
MANAGED_VARS = (*PROXY_VARS, *NO_PROXY_VARS, *CA_VARS, *NODE_VARS, MARKER_ENV)

# Traffic to these goes direct by default: local servers, and the proxy itself.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_LOCAL_SPELLINGS = {*LOCAL_HOSTS, ".localhost", "[::1]", "127.0.0.0/8", "::1/128", "0:0:0:0:0:0:0:1"}


# The proxy ignores the password, but urllib and requests send proxy credentials only when the
# URL has a non-empty one: without it, their calls would arrive with no project.
PROJECT_PASSWORD = "r4u"
NO_PROJECT_USER = "_"  # the user part of a URL that only carries the proxy's password (addons/access.py)


def project_proxy_url(proxy_url: str, project: str | None) -> str:
    """`http://127.0.0.1:4848` + `billing-bot` → `http://billing-bot:r4u@127.0.0.1:4848`.

    The proxy reads the user part as the project; clients send it as proxy auth. A proxy that needs
    a password (one listening beyond loopback) has it in its URL, `http://_:PASSWORD@…`: it is kept.
    """
    parts = urlsplit(proxy_url)
    hostport = parts.netloc.rpartition("@")[2]
    # `_` marks the proxy's own password; any other user part is an old project, replaced with it.
    required = parts.password if parts.username == NO_PROJECT_USER and parts.password else None
    if project:
        netloc = f"{quote(project, safe='')}:{required or PROJECT_PASSWORD}@{hostport}"
    else:
        netloc = f"{NO_PROJECT_USER}:{required}@{hostport}" if required else hostport
    return urlunsplit((parts.scheme or "http", netloc, "", "", ""))


def project_of(proxy_url: str) -> str | None:
    user = urlsplit(proxy_url).username
    return unquote(user) if user else None


def no_proxy_value(existing: str, include_local: bool) -> str:
    """Keep the app's own exclusions; add local hosts, or drop them when local calls are wanted."""
    entries = list(dict.fromkeys(entry.strip() for entry in existing.split(",") if entry.strip()))
    if include_local:
        entries = [entry for entry in entries if entry.lower() not in _LOCAL_SPELLINGS]
    else:
        lowered = {entry.lower() for entry in entries}
        entries += [host for host in LOCAL_HOSTS if host not in lowered]
    return ",".join(entries)


class Recording(NamedTuple):
    """What recording a program takes: the variables to set, the proxy, and warnings for the user."""

    values: dict[str, str]
    proxy: RunningProxy
    warnings: list[str]


def recording_environment(**options: Any) -> dict[str, str]:
    """Just the variables of `prepare_recording(**options)`."""
    return prepare_recording(**options).values


def prepare_recording(
    project: str | None = None,
    proxy_url: str | None = None,
    start: bool = True,
    include_local: bool = False,
    home: str | os.PathLike[str] | None = None,
    base_env: Mapping[str, str] | None = None,
) -> Recording:
    """The variables to set, computed against `base_env` (default: os.environ), the proxy found, and what
    the user should be told.

    Raises `ProxyUnavailable` when no proxy runs and none can be started, OSError when
    the CA bundle cannot be written.
    """
    env = os.environ if base_env is None else base_env
    home_dir = r4u_home(home if home is not None else env.get("R4U_HOME"))
    upstream = foreign_proxy(env)  # a company proxy the program used: the r4u proxy must forward through it
    if proxy_url:
        proxy: RunningProxy = proxy_at(proxy_url, home_dir)
    else:
        proxy = locate_proxy(home_dir, start, upstream=upstream)
    warnings = []
    if upstream and foreign_proxy(env, own=proxy.proxy_url):
        warning = upstream_mismatch(upstream, proxy.upstream_proxy)
        if warning:
            warnings.append(warning)
    if project is None and proxy_url:
        project = project_of(proxy_url)
    url = project_proxy_url(proxy.proxy_url, project)
    bundle = str(app_bundle(env, proxy.ca_cert, home_dir))
    existing_no_proxy = ",".join(env.get(name, "") for name in NO_PROXY_VARS)
    no_proxy = no_proxy_value(existing_no_proxy, include_local)
    values = {name: url for name in PROXY_VARS}
    values.update({name: no_proxy for name in NO_PROXY_VARS})
    values.update({name: bundle for name in CA_VARS})
    values["NODE_EXTRA_CA_CERTS"] = str(node_extra_ca_file(env, proxy.ca_cert, home_dir))
    values["NODE_USE_ENV_PROXY"] = "1"  # Node ≥ 22.21 / 24.5: fetch and http(s) honour HTTPS_PROXY
    # Older Node ignores HTTPS_PROXY: the preload tunnels its TLS connections (r4u/node/preload.cjs).
    values["NODE_OPTIONS"] = node_options(env.get("NODE_OPTIONS", ""), installed_preload(home_dir))
    values[MARKER_ENV] = proxy.proxy_url
    return Recording(values, proxy, warnings)


def describe(values: Mapping[str, str]) -> str:
    """One line for humans: where calls go and which CA bundle is used."""
    return f"r4u: recording through {values['HTTPS_PROXY']} (CA bundle {Path(values['SSL_CERT_FILE'])})"
