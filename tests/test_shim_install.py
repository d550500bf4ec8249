"""Installing r4u into an application's environment brings no third-party package.

Builds the wheel from a copy of the sources (nothing is written into the repo), installs it into a
fresh venv with `--no-index` (pip would fail if any dependency were required) and imports the shim.
The proxy side is checked where the proxy is installed: the dev venv's `r4u` command.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.proxy import REPO

SOURCES = ("pyproject.toml", "README.md", "r4u", "r4u_proxy", "addons", "datasette_plugins")


def run(*command: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def shim_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("install")
    source = root / "src"
    source.mkdir()
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif origin.exists():
            shutil.copy(origin, source / name)
    # Build isolation fetches the build backend (setuptools, wheel) from the package index.
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", root / "dist", source)
    (wheel,) = (root / "dist").glob("r4u-*.whl")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", wheel)
    return venv


def test_the_shim_installs_without_third_party_packages(shim_venv: Path):
    listed = json.loads(run(shim_venv / "bin" / "python", "-m", "pip", "list", "--format=json").stdout)
    assert {p["name"].lower() for p in listed} <= {"r4u", "pip", "setuptools"}


def test_import_r4u_works_and_loads_only_the_standard_library(shim_venv: Path):
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "import r4u\n"
        "site = [p for p in sys.path if p.endswith('site-packages')]\n"
        "loaded = {m: sys.modules[m] for m in set(sys.modules) - before}\n"
        "third_party = sorted({m.split('.')[0] for m, mod in loaded.items()\n"
        "    if any((getattr(mod, '__file__', None) or '').startswith(s) for s in site)} - {'r4u'})\n"
        "print(json.dumps({'enable': callable(r4u.enable), 'third_party': third_party, 'file': r4u.__file__}))\n"
    )
    out = json.loads(run(shim_venv / "bin" / "python", "-I", "-c", code).stdout)
    assert out["enable"] is True and out["third_party"] == []
    assert out["file"].startswith(str(shim_venv))  # the installed copy, not the repo


def test_shim_only_r4u_command_says_how_to_get_the_proxy(shim_venv: Path):
    result = subprocess.run([str(shim_venv / "bin" / "r4u"), "proxy", "status"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "pip install 'r4u[proxy]'" in result.stderr


def test_the_proxy_install_provides_the_r4u_command():
    r4u = Path(sys.executable).parent / "r4u"
    for command in (["--help"], ["proxy", "start", "--help"], ["env", "--help"], ["run", "--help"]):
        result = subprocess.run([str(r4u), *command], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


def test_the_wheel_carries_the_recorded_streams_byte_for_byte(shim_venv: Path):
    """`r4u demo` and the simulator of an installed r4u replay the recordings shipped inside the wheel."""
    from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

    (installed,) = shim_venv.glob("lib/python*/site-packages/r4u_proxy/simulator/recordings")
    ours = sorted(p.relative_to(RECORDINGS_DIR) for p in RECORDINGS_DIR.rglob("*") if p.is_file())
    assert Path("MANIFEST.tsv") in ours and Path("README.md") in ours and len(ours) > 80
    shipped = sorted(p.relative_to(installed) for p in installed.rglob("*") if p.is_file())
    assert shipped == ours
    assert all((installed / name).read_bytes() == (RECORDINGS_DIR / name).read_bytes() for name in ours)


def test_the_shim_alone_serves_r4u_run_with_the_node_preload(shim_venv: Path, tmp_path: Path):
    """`r4u run` needs no click: an app venv's own `r4u` command runs programs recorded (proxy running)."""
    import os

    from clients.fake_proxy import FakeProxy

    from r4u.node_preload import PRELOAD_SOURCE

    proxy = FakeProxy(tmp_path)
    try:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("R4U_")}
        env["R4U_HOME"] = str(proxy.home)
        result = subprocess.run([str(shim_venv / "bin" / "r4u"), "run", "--", "sh", "-c", 'echo "$NODE_OPTIONS"'],
                                env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    finally:
        proxy.close()
    assert result.returncode == 0, result.stderr
    preload = Path(result.stdout.strip().removeprefix("--require "))
    assert preload.is_relative_to(proxy.home) and preload.read_bytes() == PRELOAD_SOURCE.read_bytes()
