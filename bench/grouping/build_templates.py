"""Rebuild bench/data/prompt_templates/ from the wheels of public prompt libraries.

    python bench/grouping/build_templates.py [--wheels DIR] [--out DIR]

Downloads (or reads from --wheels) the wheels listed in PACKAGES with `pip download --no-deps`: nothing is
installed or imported, the sources are read straight out of the wheel. From every `.py` file it takes the
string constants that are `str.format` templates (named fields only), and from data files the strings that
are Jinja templates with plain `{{ name }}` fields; each with its package, version, module path, the name it
was assigned to, and the package's licence. Exact duplicates (after collapsing blanks) are kept once.

It also writes the value pools the corpus fills templates with (`values.json`), taken from text that ships
with Python and with the same wheels: CPython's documentation topics (`pydoc_data.topics`, PSF-2.0), the
packages' own README texts (their METADATA descriptions) and the few-shot examples and code in their
sources. See bench/data/prompt_templates/README.md.
"""

from __future__ import annotations

import argparse
import ast
import email.parser
import json
import re
import string
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml
from template_selection import constants as _constants
from template_selection import select

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench" / "data" / "prompt_templates"

# (distribution, version): pinned, so a rebuild gives the same corpus.
PACKAGES = [
    ("langchain-classic", "1.0.8"),
    ("langchain-core", "1.8.4"),
    ("langchain-community", "0.4.2"),
    ("langchain-experimental", "0.4.2"),
    ("llama-index-core", "0.14.25"),
    ("dspy", "3.4.1"),
    ("crewai", "1.15.30"),
    ("promptflow-tools", "1.6.1"),
    ("ragas", "0.4.3"),
    ("deepeval", "4.3.1"),
    ("haystack-ai", "3.4.1"),
    ("autogen-agentchat", "0.7.5"),
    ("semantic-kernel", "1.45.0"),
    ("camel-ai", "0.2.90"),
    ("metagpt", "0.8.2"),
    ("textgrad", "0.1.8"),
    ("nemoguardrails", "0.24.1"),
    ("gpt-researcher", "0.15.1"),
    ("langroid", "0.69.16"),
    ("opik", "2.2.122"),
    ("smolagents", "1.26.0"),
    ("griptape", "1.13.0"),
    ("embedchain", "0.1.128"),
    ("trulens-feedback", "2.16.0"),
    ("lm-eval", "0.4.13"),
    ("swarms", "16.0.3"),
    ("evals", "3.0.1.post1"),
]
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# `{{ name }}`, also with filters (`{{ history | verbose }}`): the field is the name.
_JINJA_FIELD = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|[^{}]*)?\}\}")
_WORD = re.compile(r"[A-Za-z]{2,}")
# Strings that are code, SQL or markup generators rather than prompts.
_CODE_HINTS = re.compile(r"\bdef \w+\(|\bimport \w|\bSELECT \* FROM\b|^\s*<\?xml|\breturn \w+\(|:param \w+:|Args:\n|CREATE TABLE|INSERT INTO|\bMATCH \(")


# Where a prompt is kept: the name it is assigned to or passed as, or a module about prompts.
_PROMPTISH = re.compile(r"prompt|template|instruction|system|suffix|prefix|tmpl|guideline|example|question|query", re.I)
_NOT_PROMPT_CALL = re.compile(r"Error|Exception|Warning|^warn|^(info|debug|error|exception|critical|print|log)$")


def _fields(text: str) -> list[str] | None:
    """The named fields of a str.format template, in order; None when it is not one (or uses more)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _IDENT.match(name) or spec or conversion:
            return None
        names.append(name)
    return names



def _is_prompt(text: str, names: list[str], literals: list[str]) -> bool:
    """A prompt someone wrote: 1-6 fields, at least 3 words of its own, prose rather than code."""
    if not 1 <= len(names) <= 6 or len(text) > 6000:
        return False
    own = " ".join(literals)
    if len(_WORD.findall(own)) < 3 or _CODE_HINTS.search(text):
        return False
    # Two fields with nothing between them cannot be told apart, by anyone.
    pieces = _constants(text)
    if any(not piece for piece in pieces[1:] if piece is not pieces[-1]) and len(names) > 1:
        inner = pieces[1 : len(names)]
        if any(not p for p in inner):
            return False
    letters = sum(c.isalpha() or c.isspace() for c in own)
    return letters >= 0.75 * len(own)


def _jinja_to_format(text: str) -> tuple[str, list[str]] | None:
    """`{{ name }}` fields become `{name}`; other braces are doubled. None when it has logic (`{%`)."""
    if "{%" in text or "{#" in text:
        return None
    out, names, pos = [], [], 0
    for m in _JINJA_FIELD.finditer(text):
        out.append(text[pos : m.start()].replace("{", "{{").replace("}", "}}"))
        out.append("{" + m.group(1) + "}")
        names.append(m.group(1))
        pos = m.end()
    out.append(text[pos:].replace("{", "{{").replace("}", "}}"))
    rest = _JINJA_FIELD.sub("", text)
    if "{{" in rest or "}}" in rest:
        return None  # expressions (`{{ q.strip() }}`) we cannot fill like a plain field
    return ("".join(out), names) if names else None


def _string_value(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class _Collector(ast.NodeVisitor):
    """String constants with the name they are assigned to (or the call they are passed to)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []  # (name, text)
        self._names: list[str] = []

    def visit_Assign(self, node: ast.Assign) -> None:
        target = node.targets[0]
        name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
        self._names.append(name)
        self.generic_visit(node)
        self._names.pop()

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        target = node.target
        self._names.append(target.id if isinstance(target, ast.Name) else getattr(target, "attr", ""))
        self.generic_visit(node)
        self._names.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        callee = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if _NOT_PROMPT_CALL.search(callee):
            return  # messages for errors, logs and warnings
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        return

    def visit_keyword(self, node: ast.keyword) -> None:
        self._names.append(node.arg or "")
        self.generic_visit(node)
        self._names.pop()

    def visit_Expr(self, node: ast.Expr) -> None:
        if _string_value(node.value) is None:  # docstrings are not prompts
            self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return  # f-strings are filled at run time; their text is not a template

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and "{" in node.value:
            self.found.append((self._names[-1] if self._names else "", node.value))


# Wheels whose metadata names no licence: what the project's repository says (its LICENSE file).
_LICENCE_FROM_REPOSITORY = {"crewai": "MIT (crewAIInc/crewAI LICENSE; the wheel carries no licence metadata)"}


def _license(dist: str, meta: email.message.Message, wheel: zipfile.ZipFile) -> str:
    if dist in _LICENCE_FROM_REPOSITORY:
        return _LICENCE_FROM_REPOSITORY[dist]
    expression = meta.get("License-Expression")
    if expression:
        return expression
    text = (meta.get("License") or "").strip()
    if text and len(text) < 40:
        return text
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    if classifiers:
        return classifiers[0]
    for name in wheel.namelist():
        if ".dist-info/" in name and "LICENSE" in name.upper():
            first = next((line.strip() for line in wheel.read(name).decode("utf-8", "replace").splitlines() if line.strip()), "")
            return first[:60] or "unknown"
    return "unknown"


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return email.parser.Parser().parsestr(wheel.read(name).decode("utf-8", "replace"))


def _data_strings(path: str, raw: str) -> list[tuple[str, str]]:
    """Prompt strings in data files: JSON/YAML values and whole text/Jinja files."""
    if path.endswith((".json", ".yaml", ".yml")):
        try:
            data = json.loads(raw) if path.endswith(".json") else yaml.safe_load(raw)
        except (ValueError, yaml.YAMLError):
            return []
        out: list[tuple[str, str]] = []

        def walk(obj, key: str) -> None:
            if isinstance(obj, dict):
                for k, v in obj.items():
                    walk(v, str(k))
            elif isinstance(obj, list):
                for v in obj:
                    walk(v, key)
            elif isinstance(obj, str) and "{" in obj:
                out.append((key, obj))

        walk(data, "")
        return out
    if path.endswith((".jinja2", ".jinja", ".j2", ".txt", ".prompt")) and "{{" in raw:
        return [(Path(path).stem, raw)]
    return []


def extract(wheel_path: Path, dist: str, version: str) -> list[dict]:
    wheel = zipfile.ZipFile(wheel_path)
    licence = _license(dist, _metadata(wheel), wheel)
    rows = []
    for path in sorted(wheel.namelist()):
        if ".dist-info/" in path or "/tests/" in path or path.startswith("tests/"):
            continue
        raw = wheel.read(path).decode("utf-8", "replace") if path.endswith(
            (".py", ".json", ".jinja2", ".jinja", ".j2", ".txt", ".prompt", ".yaml", ".yml")
        ) else None
        if raw is None:
            continue
        if path.endswith(".py"):
            try:
                tree = ast.parse(raw)
            except SyntaxError:
                continue
            collector = _Collector()
            collector.visit(tree)
            in_prompt_module = bool(re.search(r"prompt|template", path, re.I))
            candidates = [(n, t, "format") for n, t in collector.found if in_prompt_module or _PROMPTISH.search(n)]
        else:
            candidates = [(n, t, "jinja" if "{{" in t else "format") for n, t in _data_strings(path, raw)]
        for name, text, style in candidates:
            if style == "jinja" or ("{{" in text and _JINJA_FIELD.search(text) and _fields(text) == []):
                converted = _jinja_to_format(text)
                if converted is None:
                    continue
                text, names = converted
            else:
                names = _fields(text)
                if names is None:
                    continue
            literals = _constants(text)
            if not _is_prompt(text, names, literals):
                continue
            rows.append({
                "package": dist, "version": version, "license": licence, "module": path, "name": name,
                "template": text, "variables": names,
            })
    return rows


def _download(wheels: Path) -> dict[str, Path]:
    found = {}
    for dist, version in PACKAGES:
        stem = dist.replace("-", "_")
        matches = list(wheels.glob(f"{stem}-{version}-*.whl"))
        if not matches:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels),
                            f"{dist}=={version}"], check=True)  # fmt: skip
            matches = list(wheels.glob(f"{stem}-{version}-*.whl"))
        found[dist] = matches[0]
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheels", type=Path, help="a folder with the wheels (downloaded into it when missing)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheels = _download(args.wheels or Path(tmp))
        extracted: list[dict] = []
        for dist, version in PACKAGES:
            extracted += extract(wheels[dist], dist, version)
        from pool_text import build_pools  # noqa: PLC0415  (beside this script)

        pools = build_pools(wheels, PACKAGES)
    rows = select(extracted)
    args.out.mkdir(parents=True, exist_ok=True)
    ids = {id(row): f"t{i:04d}" for i, row in enumerate(rows, start=1)}
    twins = 0
    with (args.out / "templates.jsonl").open("w") as f:
        for row in rows:
            twin = row.pop("twin_of")
            twins += twin is not None
            row = {"id": ids[id(row)], **row, "twin_of": ids[id(twin)] if twin is not None else None}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (args.out / "values.json").write_text(json.dumps(pools, ensure_ascii=False, indent=0))
    by_package: dict[str, int] = {}
    for row in rows:
        by_package[row["package"]] = by_package.get(row["package"], 0) + 1
    print(f"{len(rows)} templates, {twins} near-twin pairs: {by_package}")
    print({k: len(v) for k, v in pools["pools"].items()})
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
