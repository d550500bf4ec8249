"""Which hosts r4u intercepts, and where `--resolve` sends them."""

from __future__ import annotations

import re

# LLM API hosts that are TLS-intercepted out of the box. Everything else is tunnelled
# untouched: the client sees the real server's certificate and r4u sees nothing.
BUILTIN_INTERCEPT: tuple[str, ...] = (
    "api.openai.com",
    "*.openai.azure.com",
    "*.cognitiveservices.azure.com",
    "*.services.ai.azure.com",
    "api.anthropic.com",
    "generativelanguage.googleapis.com",
    "aiplatform.googleapis.com",
    "*-aiplatform.googleapis.com",
    "api.groq.com",
    "api.mistral.ai",
    "api.deepseek.com",
    "openrouter.ai",
    "api.together.xyz",
    "api.together.ai",
    "api.fireworks.ai",
    "api.x.ai",
    "api.cohere.com",
    "api.cohere.ai",
    "bedrock-runtime.*.amazonaws.com",
    "bedrock-runtime-fips.*.amazonaws.com",
    "ollama.com",
    "*.endpoints.huggingface.cloud",
    "api.perplexity.ai",
    "api.cerebras.ai",
    "api.z.ai",
    "api.moonshot.ai",
    "api.inference.crusoecloud.com",
    "api-inference.huggingface.co",
    "router.huggingface.co",
    "*.api.aws",
)

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
