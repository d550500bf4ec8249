"""Record a WebSocket transcript of the real Codex CLI: `codex exec` through r4u's proxy to the simulator.

What Codex sends is Codex's own (its prompts, tools and settings); what comes back is the simulator's. The
transcript is the fixture tests/test_websocket_units.py replays offline, and the manual run docs/websocket.md
describes. Usage (from the repo, with the venvs built and `make codex`):

    .venv/bin/python tests/tools/record_codex_transcript.py r4u_proxy/simulator/recordings/websocket/NAME.jsonl
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from support.proxy import simulator_args, start_proxy  # noqa: E402

from r4u_proxy.simulator import Simulator  # noqa: E402

CODEX = REPO / ".tools" / "codex" / "node_modules" / ".bin" / "codex"
PROMPT = "Say hello in five words"
SECRET = "sk-test-0123456789abcdefSECRET"


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, Simulator(tls=True, cert_dir=Path(tmp) / "ca") as sim:
        proxy = start_proxy(Path(tmp) / "home", "--no-ui", "--no-grouping", *simulator_args(sim))
        try:
            (Path(tmp) / "codex-home").mkdir()
            env = {**proxy.env(), "CODEX_HOME": str(Path(tmp) / "codex-home"), "OPENAI_API_KEY": SECRET,
                   "CODEX_CA_CERTIFICATE": str(proxy.ca_bundle)}  # fmt: skip
            result = subprocess.run(
                [str(CODEX), "exec", "--skip-git-repo-check", "-m", "gpt-5-codex", PROMPT],
                env=env, cwd=tmp, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            print(result.stdout[-500:], result.stderr[-500:], sep="\n")
        finally:
            proxy.stop()
        sockets = [s for s in sim.websockets if s.path.endswith("/responses")]
    version = subprocess.run([str(CODEX), "--version"], capture_output=True, text=True).stdout.strip()
    lines = []
    for socket in sockets:
        start = socket.opened_at
        headers = [[k, "Bearer " + SECRET if k.lower() == "authorization" else v] for k, v in socket.headers]
        lines.append({"kind": "open", "source": f"{version} exec through r4u to the r4u simulator",
                      "path": socket.path, "query": socket.query, "request_headers": headers})  # fmt: skip
        for t, from_client, is_text, payload in socket.log:
            lines.append({"t": round(t - start, 6), "from": "client" if from_client else "server",
                          "text": payload.decode() if is_text else None, "bytes": len(payload)})  # fmt: skip
        lines.append({"kind": "close", "close_code": socket.close_code})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    print(f"{len(sockets)} connection(s), {len(lines)} lines -> {out}")


if __name__ == "__main__":
    if not CODEX.exists():
        sys.exit(f"no Codex CLI at {CODEX}: run `make codex` first")
    os.environ.setdefault("PYTHONPATH", str(REPO))
    main(Path(sys.argv[1]))
