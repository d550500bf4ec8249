"""Launch profiles: what `r4u run -- CMD` knows about CMD before running it.

What each known agent needs is in the common variables (`r4u/environment.py`), so that a shell set up by
`r4u env` works like `r4u run`: the CA bundle under each name an agent reads (CODEX_CA_CERTIFICATE for
Codex CLI, NODE_EXTRA_CA_CERTS for Claude Code and Gemini CLI, ...) and the Node preload. A profile names
the programs whose calls cannot be recorded that way, with the fix, so that the user hears it before the
program runs, not after finding nothing recorded. The runtime is read from the command's name and, for scripts, from the
interpreter on its `#!` line.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

# Programs known by name, and the runtime they are.
AGENTS = {
    "claude": "native",  # Claude Code: a Bun executable; honours HTTPS_PROXY and NODE_EXTRA_CA_CERTS
    "codex": "native",  # Codex CLI: Rust; CA from CODEX_CA_CERTIFICATE
    "gemini": "node",  # Gemini CLI
    "aider": "python",
    "llm": "python",
}
JAVA = {"java", "javaw", "mvn", "mvnw", "gradle", "gradlew", "sbt", "kotlin", "scala", "lein", "clojure"}
CONTAINERS = {"docker", "podman", "nerdctl"}
_FALSE = {"", "0", "false", "no", "off"}


class Runtime(NamedTuple):
    kind: str  # "node", "python", "java", "container", "native", "shell", "unknown"
    program: str  # what the command is called (basename)
    path: str | None  # the executable found on PATH
    interpreter: str | None = None  # a script's interpreter, as its `#!` line names it


class LaunchProfile(NamedTuple):
    runtime: Runtime
    problems: list[str]  # calls that will not be recorded, each with its fix


def shebang_interpreter(path: str) -> str | None:
    """`node` for `#!/usr/bin/env node`, `/usr/bin/python3` for `#!/usr/bin/python3 -u`."""
    try:
        with open(path, "rb") as file:
            first = file.read(256).split(b"\n", 1)[0]
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return words[0] if words else None


def _kind_of(name: str) -> str | None:
    name = name.lower()
    if name in ("node", "nodejs", "npx", "npm", "pnpm", "yarn", "tsx", "ts-node", "bun", "deno"):
        return "node"
    if name.startswith(("python", "pypy")) or name in ("uv", "uvx", "pipx", "poetry", "pdm"):
        return "python"
    if name in JAVA:
        return "java"
    if name in CONTAINERS:
        return "container"
    if name in ("sh", "bash", "zsh", "fish", "dash", "ksh"):
        return "shell"
    return AGENTS.get(name)


def detect_runtime(command: Sequence[str], env: Mapping[str, str]) -> Runtime:
    program = os.path.basename(command[0]) if command else ""
    path = shutil.which(command[0], path=env.get("PATH")) if command else None
    interpreter = shebang_interpreter(path) if path else None
    kind = _kind_of(program)
    by_interpreter = _kind_of(os.path.basename(interpreter)) if interpreter else None
    if kind is None or by_interpreter in ("node", "python"):  # a wrapper script (pyenv's) keeps its name's kind
        kind = by_interpreter or kind
    if kind is None:
        kind = "native" if path and _is_binary(path) else "unknown"
    return Runtime(kind, program, path, interpreter)


def _is_binary(path: str) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(4) in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe") or path.endswith(".exe")
    except OSError:
        return False


def launch_profile(command: Sequence[str], values: Mapping[str, str], env: Mapping[str, str]) -> LaunchProfile:
    """What to add and what to say for `command`, run with `values` on top of `env`."""
    runtime = detect_runtime(command, {**env, **values})
    profile = LaunchProfile(runtime, [])
    proxy = values.get("R4U_PROXY", "the r4u proxy")
    ca = values.get("NODE_EXTRA_CA_CERTS", "the r4u CA")
    if runtime.kind == "java":
        profile.problems.append(
            f"{runtime.program}: Java ignores HTTPS_PROXY and the CA variables, so its calls are not recorded. "
            f"Fix: JAVA_TOOL_OPTIONS='-Dhttps.proxyHost=HOST -Dhttps.proxyPort=PORT' for {proxy}, and a trust "
            f"store holding the r4u CA (keytool -importcert -file {ca} -keystore r4u.p12; "
            "-Djavax.net.ssl.trustStore=r4u.p12)"
        )
    elif runtime.kind == "container" and "run" in command[1:]:
        profile.problems.append(
            f"{runtime.program} run: the container sees neither r4u's variables nor {proxy} (its 127.0.0.1 is "
            "its own), so its calls are not recorded. Fix: run r4u inside the container, or pass -e HTTPS_PROXY "
            "with an address the container reaches and mount the CA bundle for SSL_CERT_FILE"
        )
    if runtime.program == "gemini" and _gemini_sandboxed(command, env):
        profile.problems.append(
            f"gemini --sandbox: the sandbox container cannot reach {proxy}, so its calls are not recorded. "
            "Fix: run gemini without --sandbox (and GEMINI_SANDBOX unset) under r4u"
        )
    return profile


def _gemini_sandboxed(command: Sequence[str], env: Mapping[str, str]) -> bool:
    args = list(command[1:])
    if "--sandbox=false" in args or "--no-sandbox" in args:
        return False
    if any(a in ("-s", "--sandbox") or a.startswith("--sandbox=") for a in args):
        return True
    return env.get("GEMINI_SANDBOX", "").strip().lower() not in _FALSE


def interpreter_command(runtime: Runtime) -> str | None:
    """The program that runs `runtime`'s code, for `r4u doctor` to probe: `node`, `python3`, … or None."""
    if runtime.kind not in ("node", "python"):
        return None
    if runtime.interpreter and _kind_of(os.path.basename(runtime.interpreter)) == runtime.kind:
        return runtime.interpreter
    if runtime.program.startswith(("python", "pypy", "node")) and runtime.path:
        return runtime.path
    return "node" if runtime.kind == "node" else "python3"


def describe_runtime(runtime: Runtime) -> str:
    where = f" ({Path(runtime.path)})" if runtime.path else " (not found on PATH)"
    via = f", run by {runtime.interpreter}" if runtime.interpreter else ""
    return f"{runtime.program}{where}: {runtime.kind}{via}"
