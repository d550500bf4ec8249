"""The pieces behind `r4u run -- CMD` for every runtime: NODE_OPTIONS and the Node preload's NO_PROXY rules,
company-proxy URLs, launch profiles (what is said before a command that cannot be recorded), and the
click-free fast path of `r4u run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clients.fake_proxy import FakeProxy

from r4u.environment import recording_environment
from r4u.launch import detect_runtime, launch_profile
from r4u.node_preload import PRELOAD_SOURCE, node_options, split_node_options
from r4u.run import parse_run_args
from r4u.upstream import BadProxyURL, foreign_proxy, parse_upstream, redact

R4U = str(Path(sys.executable).parent / "r4u")


@pytest.fixture
def fake_proxy(tmp_path: Path):
    proxy = FakeProxy(tmp_path / "it's a \"dir\"")  # a quote, double quotes and spaces in every r4u path
    yield proxy
    proxy.close()


def test_node_options_keep_the_programs_own_and_replace_an_earlier_preload():
    preload = Path("/x/bundles/r4u-node-preload-abc.cjs")
    assert node_options("", preload) == "--require /x/bundles/r4u-node-preload-abc.cjs"
    earlier = '--max-old-space-size=4096 --require "/old home/bundles/r4u-node-preload-123.cjs" -r ./trace.js'
    assert split_node_options(node_options(earlier, preload)) == [
        "--max-old-space-size=4096", "-r", "./trace.js", "--require", str(preload),
    ]  # fmt: skip
    spaced = Path('/home/a b/it\'s "q"/r4u-node-preload-1.cjs')
    assert split_node_options(node_options("", spaced)) == ["--require", str(spaced)]


def test_node_starts_with_the_preload_from_a_home_with_spaces_and_quotes(fake_proxy: FakeProxy):
    values = recording_environment(base_env={"R4U_HOME": str(fake_proxy.home)})
    assert Path(values["NODE_OPTIONS"].split("--require ", 1)[1].strip('"').replace('\\"', '"')).is_file()
    env = {**os.environ, **values}
    probe = "console.log(JSON.stringify(globalThis[Symbol.for('r4u.node-preload')] || null))"
    result = subprocess.run(["node", "-e", probe], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"tunnels": 0}  # loaded, nothing tunnelled yet


def test_the_preload_reads_no_proxy_as_curl_does():
    cases = [  # (host, port, NO_PROXY, bypassed)
        ("api.openai.com", 443, "", False),
        ("api.openai.com", 443, "*", True),
        ("api.openai.com", 443, "openai.com", True),  # a name covers its subdomains
        ("api.openai.com", 443, ".openai.com", True),
        ("api.openai.com", 443, "*.openai.com", True),
        ("notopenai.com", 443, "openai.com", False),
        ("api.openai.com", 443, "api.openai.com:8443", False),  # a port narrows the entry
        ("api.openai.com", 8443, "api.openai.com:8443", True),
        ("127.0.0.1", 443, "localhost,127.0.0.1,::1", True),
        ("::1", 443, "localhost,127.0.0.1,::1", True),
        ("[::1]", 443, "[::1]", True),
        ("Internal.Corp.", 443, " internal.corp , other", True),
    ]
    script = (f"const {{ bypassed }} = require({json.dumps(str(PRELOAD_SOURCE))});"
              "const cases = JSON.parse(process.argv[1]);"
              "console.log(JSON.stringify(cases.map(([h, p, n]) => bypassed(h, p, { NO_PROXY: n }))));")  # fmt: skip
    result = subprocess.run(["node", "-e", script, json.dumps([c[:3] for c in cases])], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "R4U_NODE_PRELOAD": "0"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [c[3] for c in cases]


def test_company_proxy_urls():
    assert parse_upstream("http://me:p%40ss@proxy.corp:3128") == ("http://proxy.corp:3128", "me:p@ss")
    assert parse_upstream("proxy.corp:8080") == ("http://proxy.corp:8080", None)
    assert parse_upstream("https://[::1]") == ("https://[::1]:443", None)
    assert redact("http://me:secret@proxy.corp:3128") == "http://me:***@proxy.corp:3128"
    for bad in ("socks5://proxy:1080", "http://proxy:notaport", "http://"):
        with pytest.raises(BadProxyURL):
            parse_upstream(bad)
    # r4u's own address is never taken for a company proxy: marked by R4U_PROXY, or the proxy itself
    env = {"https_proxy": "http://p:r4u@127.0.0.1:4848", "R4U_PROXY": "http://127.0.0.1:4848"}
    assert foreign_proxy(env) is None
    assert foreign_proxy({"HTTPS_PROXY": "http://localhost:4848"}, own="http://127.0.0.1:4848") is None
    assert foreign_proxy({"HTTPS_PROXY": "http://127.0.0.1:3128"}, own="http://127.0.0.1:4848") == "http://127.0.0.1:3128"


def test_launch_profiles_read_the_runtime_and_name_what_cannot_be_recorded(tmp_path: Path):
    script = tmp_path / "agent"
    script.write_text("#!/usr/bin/env -S node --no-warnings\nconsole.log(1)\n")
    script.chmod(0o755)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}"}
    runtime = detect_runtime(["agent", "--x"], env)
    assert (runtime.kind, runtime.interpreter, runtime.path) == ("node", "node", str(script))
    assert launch_profile(["agent"], {}, env).problems == []
    assert detect_runtime(["python3", "-c", "1"], env).kind == "python"
    java = launch_profile(["java", "-jar", "app.jar"], {"R4U_PROXY": "http://127.0.0.1:4848"}, env).problems
    assert len(java) == 1 and "Java ignores HTTPS_PROXY" in java[0] and "JAVA_TOOL_OPTIONS" in java[0]
    assert "cannot reach" in launch_profile(["gemini", "--sandbox", "-p", "x"], {}, env).problems[0]
    assert launch_profile(["gemini", "-p", "x"], {}, {**env, "GEMINI_SANDBOX": "false"}).problems == []
    assert "container" in launch_profile(["docker", "run", "img"], {}, env).problems[0]


def test_run_says_what_cannot_be_recorded_before_running_it(fake_proxy: FakeProxy, tmp_path: Path):
    fake_java = tmp_path / "bin" / "java"
    fake_java.parent.mkdir()
    fake_java.write_text("#!/bin/sh\necho java ran\n")
    fake_java.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("R4U_")}
    env.update(R4U_HOME=str(fake_proxy.home), PATH=f"{fake_java.parent}:{env['PATH']}")
    result = subprocess.run([R4U, "run", "--", "java", "-version"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "java ran\n"
    assert result.stderr.startswith("r4u run: warning: java: Java ignores HTTPS_PROXY")


def test_the_fast_path_takes_plain_runs_and_leaves_the_rest_to_click():
    assert parse_run_args(["--project", "p", "--include-local", "--home=/h", "--", "cmd", "-x"]) == (
        {"project": "p", "include_local": True, "home": "/h"}, ["cmd", "-x"],
    )  # fmt: skip
    assert parse_run_args(["cmd", "--project", "x"]) == ({"project": None, "include_local": False, "home": None},
                                                         ["cmd", "--project", "x"])  # fmt: skip
    for handed_to_click in (["--help"], ["--projekt", "p", "--", "cmd"], ["--project"], ["--"], []):
        assert parse_run_args(handed_to_click) is None


def test_run_help_comes_from_click_and_errors_read_as_before(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("R4U_")}
    env["R4U_HOME"] = str(tmp_path / "home")
    helped = subprocess.run([R4U, "run", "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--include-local" in helped.stdout
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    failed = subprocess.run([R4U, "run", "--home", str(not_a_dir), "--", "true"], env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert failed.returncode == 1 and failed.stderr.startswith("Error: ")  # the command is not run unrecorded
