"""`r4u export --format otlp|jsonl|har`, and the OTLP options `r4u proxy start` shares."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

import click

from r4u_proxy.cli import main
from r4u_proxy.cli.options import db_options, existing_db, since_option

CONTENT_HELP = "Message content on spans: none, or span (gen_ai.input/output.messages, ...; already redacted)."


class OtlpEndpoint(click.ParamType):
    """An http(s) URL with a host; `/v1/traces` is added unless the path already ends with it."""

    name = "URL"

    def convert(self, value, param, ctx) -> str:
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(f"{value!r} is not an http(s) URL like http://127.0.0.1:6006/v1/traces", param, ctx)
        return str(value)


class Header(click.ParamType):
    """K=V, e.g. `Authorization=Basic abc`."""

    name = "K=V"

    def convert(self, value, param, ctx) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, val = str(value).partition("=")
        if not sep or not key.strip():
            self.fail(f"{value!r}: expected NAME=VALUE", param, ctx)
        return key.strip(), val.strip()


def headers_from_env(text: str | None) -> dict[str, str]:
    """`R4U_OTLP_HEADERS` in OTEL_EXPORTER_OTLP_HEADERS's form: `k1=v1,k2=v2`, values URL-encoded."""
    headers = {}
    for item in (text or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers[key.strip()] = unquote(value.strip())
    return headers


def otlp_options(f: Callable) -> Callable:
    """--otlp-endpoint, --otlp-header, --otlp-content for `r4u proxy start`."""
    f = click.option("--otlp-content", type=click.Choice(["none", "span"]), default="none", show_default=True,
                     envvar="R4U_OTLP_CONTENT", help=CONTENT_HELP)(f)  # fmt: skip
    f = click.option("--otlp-header", "otlp_headers", type=Header(), multiple=True,
                     help="Header for the OTLP receiver, e.g. Authorization=Bearer…; repeatable "
                          "(also R4U_OTLP_HEADERS=k=v,k2=v2).")(f)  # fmt: skip
    return click.option("--otlp-endpoint", type=OtlpEndpoint(), envvar="R4U_OTLP_ENDPOINT",
                        help="Export every trace live to this OTLP/HTTP receiver (e.g. Phoenix, a collector).")(f)  # fmt: skip


@contextlib.contextmanager
def _output(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    with open(target, "w", encoding="utf-8") as handle:
        os.chmod(target, 0o600)  # traces are the owner's alone
        yield handle


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["otlp", "jsonl", "har"]), required=True, help="What to write.")
@db_options
@since_option
@click.option("--project", default=None, help="Only this project's calls.")
@click.option("--session", default=None, help="Only this session's calls (and its sub-agents').")
@click.option("--output", "-o", default="-", show_default=True, metavar="FILE|-", help="Where to write (not with --endpoint).")
@click.option("--endpoint", type=OtlpEndpoint(), default=None, help="otlp: post to this OTLP/HTTP receiver.")
@click.option("--header", "headers", type=Header(), multiple=True, help="otlp: receiver header K=V (repeatable).")
@click.option("--encoding", type=click.Choice(["protobuf", "json"]), default="protobuf", show_default=True,
              help="otlp with --endpoint: the request body.")  # fmt: skip
@click.option("--content", type=click.Choice(["none", "span"]), default="none", show_default=True, help=CONTENT_HELP)
@click.option("--attempts", type=click.IntRange(1, 100), default=6, show_default=True,
              help="otlp with --endpoint: tries per request before giving up (429, 5xx, connection errors).")  # fmt: skip
def export(
    fmt: str, home: Path | None, db: Path | None, since: str | None, project: str | None, session: str | None,
    output: str, endpoint: str | None, headers: tuple[tuple[str, str], ...], encoding: str, content: str,
    attempts: int,
) -> None:  # fmt: skip
    """Export recorded calls: OTLP spans (GenAI conventions), JSONL (every column) or HAR 1.2."""
    from r4u_proxy.export import rows as queries

    if endpoint and fmt != "otlp":
        raise click.UsageError("--endpoint is for --format otlp")
    if attempts != 6 and not endpoint:
        raise click.UsageError("--attempts is for --endpoint")
    if endpoint and output != "-":
        raise click.UsageError("--output and --endpoint exclude each other")
    path = existing_db(home, db)
    selection = queries.Selection(since=since, project=project, session=session)
    try:
        selection.where()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        if fmt == "otlp":
            _export_otlp(str(path), selection, output, endpoint, dict(headers), encoding, content, attempts)
        else:
            from r4u_proxy.export.files import write_har, write_jsonl

            conn = queries.connect_readonly(str(path))
            try:
                with _output(output) as out:
                    count = (write_har if fmt == "har" else write_jsonl)(queries.trace_batches(conn, selection), out)
            finally:
                conn.close()
            click.echo(f"r4u: exported {count} traces as {fmt}", err=True)
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None


def _export_otlp(path: str, selection, output: str, endpoint: str | None, headers: dict[str, str],
                 encoding: str, content: str, attempts: int) -> None:  # fmt: skip
    from r4u_proxy.export.batch import export_otlp
    from r4u_proxy.export.otlp import Receiver

    if endpoint is None:
        with _output(output) as out:
            report = export_otlp(path, selection, out=out, content=content)
        click.echo(f"r4u: wrote {report.spans} spans as OTLP/JSON lines", err=True)
        return
    report = export_otlp(path, selection, receiver=Receiver(endpoint, headers, encoding), content=content, attempts=attempts)
    click.echo(
        f"r4u: sent {report.spans} spans in {report.requests} requests to {Receiver(endpoint).url}"
        + (f"; {report.rejected} rejected by the receiver" if report.rejected else ""),
        err=True,
    )
    if report.failed:
        raise click.ClickException(
            f"{report.failed} spans could not be sent ({report.spans} were): {report.errors[-1]}; "
            "run the same export again once the receiver is back (span ids repeat, so receivers keep one copy)"
        )


def export_line(stats: dict) -> str:
    """`r4u proxy status`'s line about live export."""
    line = (f"export: {stats.get('sent', 0)} sent, {stats.get('unsent', 0)} unsent, "
            f"{stats.get('rejected', 0)} rejected -> {stats.get('endpoint')}")  # fmt: skip
    if stats.get("unsent") and stats.get("last_error"):
        line += f"; last error {stats.get('last_error_at')}: {stats['last_error']}"
    return line
