"""The one host table: which hosts r4u intercepts and which provider each one is; `--intercept` and
`--resolve` specs.

Everything not in `HOSTS` (or added with `--intercept`) is tunnelled untouched: the client sees the real
server's certificate and r4u sees nothing. `routes.py` reads the provider from the same table; on a
host without a provider here (an OpenAI-compatible vendor, a local server) the path decides
(`openai_compatible` or `unknown`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Host:
    pattern: str  # an exact host name, or "*" + a suffix for a family of hosts (Azure resources, Vertex regions)
    provider: str | None = None  # r4u's provider name; None: the API family decides (see routes.py)

    def matches(self, host: str) -> bool:
        if self.pattern.startswith("*"):
            return host.endswith(self.pattern[1:])
        return host == self.pattern


HOSTS: tuple[Host, ...] = (
    Host("api.openai.com", "openai"),
    Host("*.openai.azure.com", "openai"),
    Host("*.cognitiveservices.azure.com", "openai"),
    Host("*.services.ai.azure.com"),
    Host("api.anthropic.com", "anthropic"),
    Host("generativelanguage.googleapis.com", "gemini"),
    Host("aiplatform.googleapis.com", "gemini"),
    Host("*-aiplatform.googleapis.com", "gemini"),
    Host("cloudcode-pa.googleapis.com", "gemini"),  # Gemini Code Assist (Gemini CLI with a Google login)
    Host("api.groq.com"),
    Host("api.mistral.ai"),
    Host("api.deepseek.com"),
    Host("openrouter.ai"),
    Host("api.together.xyz"),
    Host("api.together.ai"),
    Host("api.fireworks.ai"),
    Host("api.x.ai"),
    Host("api.cohere.com"),
    Host("api.cohere.ai"),
    Host("api.perplexity.ai"),
    Host("api.cerebras.ai"),
    Host("api.z.ai"),
    Host("api.moonshot.ai"),
    Host("api.inference.crusoecloud.com"),
    Host("api-inference.huggingface.co"),
    Host("router.huggingface.co"),
    Host("*.api.aws"),
)
# The built-in intercept list, as globs (what `--intercept` adds to).
BUILTIN_INTERCEPT: tuple[str, ...] = tuple(host.pattern for host in HOSTS)
_WITH_PROVIDER = tuple(host for host in HOSTS if host.provider is not None)


def provider_for_host(host: str) -> str | None:
    """r4u's provider name for a host in HOSTS, or None."""
    host = host.lower().rstrip(".")
    return next((h.provider for h in _WITH_PROVIDER if h.matches(host)), None)


_HOST_GLOB = re.compile(r"^[A-Za-z0-9*][A-Za-z0-9.*_-]*$")


class BadHostSpec(ValueError):
    pass


def host_regex(glob: str) -> str:
    """A mitmproxy allow_hosts regex for a host glob (`*` never crosses the port colon)."""
    glob = glob.strip().lower()
    if not _HOST_GLOB.match(glob):
        raise BadHostSpec(f"--intercept {glob!r}: expected a host name or glob like '*.example.com'")
    body = re.escape(glob).replace(r"\*", "[^:]*")
    return rf"^{body}(:\d+)?$"


def intercept_regexes(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    return [host_regex(glob) for glob in (*BUILTIN_INTERCEPT, *extra)]


def parse_resolve(spec: str) -> tuple[str, tuple[str, int]]:
    """'api.openai.com=127.0.0.1:8443' -> ('api.openai.com', ('127.0.0.1', 8443))."""
    host, sep, target = spec.partition("=")
    host = host.strip().lower()
    if not sep or not host or not target:
        raise BadHostSpec(f"--resolve {spec!r}: expected HOST=IP:PORT, e.g. api.openai.com=127.0.0.1:8443")
    if target.startswith("["):  # [::1]:8443
        addr, _, port_text = target[1:].partition("]:")
    else:
        addr, _, port_text = target.rpartition(":")
    if not addr or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadHostSpec(f"--resolve {spec!r}: expected HOST=IP:PORT with a port from 1 to 65535")
    return host, (addr, int(port_text))
