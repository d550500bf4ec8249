"""The one host table: which hosts r4u intercepts and which provider each one is; `--intercept` and
`--resolve` specs.

Everything not in `HOSTS` (or added with `--intercept`) is tunnelled untouched: the client sees the real
server's certificate and r4u sees nothing. `routes.py` reads the provider from the same table; on a
host without a provider here (an OpenAI-compatible vendor, a local server) the path decides
(`openai_compatible`, `unknown`, or the self-hosted server's own provider on `LOCAL_HOSTS`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Host:
    pattern: str  # a host name or glob: `*` matches within a name, any number of labels (Azure resources,
    # Vertex regions, Bedrock's bedrock-runtime.<region>.amazonaws.com)
    provider: str | None = None  # r4u's provider name; None: the API family decides (see routes.py)

    def matches(self, host: str) -> bool:
        return glob_matches(self.pattern, host)


HOSTS: tuple[Host, ...] = (
    Host("api.openai.com", "openai"),
    Host("*.openai.azure.com", "azure"),
    Host("*.cognitiveservices.azure.com", "azure"),
    Host("*.services.ai.azure.com", "azure"),  # Azure AI Foundry: OpenAI's paths and others' (the path decides)
    Host("api.anthropic.com", "anthropic"),
    Host("generativelanguage.googleapis.com", "gemini"),
    Host("aiplatform.googleapis.com", "vertex"),
    Host("*-aiplatform.googleapis.com", "vertex"),
    Host("cloudcode-pa.googleapis.com", "gemini"),  # Gemini Code Assist (Gemini CLI with a Google login)
    Host("bedrock-runtime.*.amazonaws.com", "bedrock"),
    Host("bedrock-runtime-fips.*.amazonaws.com", "bedrock"),
    Host("api.cohere.com", "cohere"),
    Host("api.cohere.ai", "cohere"),
    Host("api.mistral.ai", "mistral"),
    Host("ollama.com", "ollama"),
    Host("api-inference.huggingface.co", "huggingface"),
    Host("router.huggingface.co", "huggingface"),
    Host("*.endpoints.huggingface.cloud", "huggingface"),
    Host("api.groq.com"),
    Host("api.deepseek.com"),
    Host("openrouter.ai"),
    Host("api.together.xyz"),
    Host("api.together.ai"),
    Host("api.fireworks.ai"),
    Host("api.x.ai"),
    Host("api.perplexity.ai"),
    Host("api.cerebras.ai"),
    Host("api.z.ai"),
    Host("api.moonshot.ai"),
    Host("api.inference.crusoecloud.com"),
    Host("*.api.aws"),
)
# The built-in intercept list, as globs (what `--intercept` adds to).
BUILTIN_INTERCEPT: tuple[str, ...] = tuple(host.pattern for host in HOSTS)
_WITH_PROVIDER = tuple(host for host in HOSTS if host.provider is not None)


def provider_for_host(host: str) -> str | None:
    """r4u's provider name for a host in HOSTS, or None."""
    host = host.lower().rstrip(".")
    return next((h.provider for h in _WITH_PROVIDER if h.matches(host)), None)


# Where a self-hosted server (Ollama, TGI) is reached: this machine, a container, the local network. Not
# intercepted (such servers speak plain HTTP); routes.py records their paths on these hosts only.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal", "*.local", "*.localhost")


def glob_matches(glob: str, host: str) -> bool:
    """Whether a host (lower-case, no port) is `glob`: an exact name, or `*` standing for any run of characters."""
    if "*" not in glob:
        return host == glob
    return _glob_pattern(glob).match(host) is not None


@functools.cache
def _glob_pattern(glob: str) -> re.Pattern[str]:
    return re.compile(host_regex(glob))


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
