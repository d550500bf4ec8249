"""`make bench` (second part): what does `r4u run` add to a command's start, and the Node preload to Node's?

With a proxy already running, each round times these back to back (the order rotates by round):

    true                       the command alone (exec of /bin/true)
    python -c pass             the interpreter r4u runs on, started bare: the floor under `r4u run`
    r4u run -- true            r4u's console script: find the proxy, build the environment, exec
    node -e 0                  Node alone
    node -e 0 + preload        Node with r4u's NODE_OPTIONS=--require preload

    .venv/bin/python bench/startup.py [--runs 30] [--no-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from processes import REPO
from report import machine_description, write_docs_section

START = "<!-- startup-bench:start (written by bench/startup.py; edits inside are overwritten) -->"
END = "<!-- startup-bench:end -->"
R4U = str(Path(sys.executable).parent / "r4u")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="rounds; every command runs once per round")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    return parser.parse_args(argv)


def start_proxy(home: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "r4u_proxy", "proxy", "start", "--home", str(home), "--port", "0",
               "--no-ui", "--no-grouping"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if json.loads((home / "proxy.json").read_text()).get("pid") == process.pid:
                return process
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the proxy did not start")


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one run. CPU time (user + system, from wait4) is what the command itself spent,
    so other tenants' load hardly moves it; wall time is what a user waits."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter() - started) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{argv} exited with {child.returncode}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    workdir = Path(tempfile.mkdtemp(prefix="r4u-startup-"))
    home = workdir / "home"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("R4U_")}
    env["R4U_HOME"] = str(home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached (the warm-up run writes it)
    proxy = start_proxy(home)
    try:
        recording = json.loads(subprocess.run([R4U, "run", "--", sys.executable, "-c",
                                               "import json, os; print(json.dumps(dict(os.environ)))"],
                                              env=env, capture_output=True, text=True, check=True).stdout)  # fmt: skip
        node = shutil.which("node")
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "true": (["true"], env),
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            "r4u run -- true": ([R4U, "run", "--", "true"], env),
        }
        if node:
            commands["node -e 0"] = ([node, "-e", "0"], env)
            commands["node -e 0 + preload"] = ([node, "-e", "0"], {**env, "NODE_OPTIONS": recording["NODE_OPTIONS"]})
        for argv_, env_ in commands.values():  # warm the page cache and the CA bundle files
            timed(argv_, env_)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        names = list(commands)
        for round_index in range(args.runs):
            for name in names[round_index % len(names):] + names[: round_index % len(names)]:
                samples[name].append(timed(*commands[name]))
    finally:
        proxy.terminate()
        proxy.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)

    wall = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
    rows = [f"| {name} | {wall[name]:.0f} ms | {sorted(w for w, _ in values)[int(len(values) * 0.9) - 1]:.0f} ms "
            f"| {cpu[name]:.0f} ms |" for name, values in samples.items()]  # fmt: skip
    added_wall, added_cpu = wall["r4u run -- true"] - wall["true"], cpu["r4u run -- true"] - cpu["true"]
    lines = [f"- `r4u run -- true` adds **{added_wall:.0f} ms** wall time (median) to `true`, {added_cpu:.0f} ms "
             f"of CPU; a bare `python -c pass` takes {wall['python -c pass']:.0f} ms ({cpu['python -c pass']:.0f} "
             f"ms CPU), so r4u's own share is {added_cpu - cpu['python -c pass']:.0f} ms of CPU."]  # fmt: skip
    if "node -e 0" in wall:
        lines.append(f"- r4u's Node preload adds {wall['node -e 0 + preload'] - wall['node -e 0']:.0f} ms wall, "
                     f"{cpu['node -e 0 + preload'] - cpu['node -e 0']:.0f} ms CPU to Node's start (median).")  # fmt: skip
    table = "\n".join(["| command | wall, median | wall, p90 | CPU, median |", "|---|---|---|---|", *rows])
    print(table)
    print("\n".join(lines))
    if not args.no_docs:
        command = "make bench" if not argv else f".venv/bin/python bench/startup.py {' '.join(argv)}"
        body = f"""## Start-up cost of `r4u run` (`make bench`)

- **When:** {started:%Y-%m-%d %H:%M} UTC; **Machine:** {machine_description()}, shared with other processes
- **Command:** `{command}`; {args.runs} rounds, each command once per round (order rotating), with a proxy already running:
  wall time of the whole process, and its CPU time (user + system, from `wait4`), which other tenants' load
  moves far less. Bytecode cached, as in an installed r4u (an editable install adds its path finder).

{table}

{chr(10).join(lines)}
"""
        doc = REPO / "docs" / "benchmarks.md"
        write_docs_section(doc, body, START, END)
        print(f"wrote {doc.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
