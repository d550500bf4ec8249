"""Small pieces of the spine: redaction, host rules, ids, the stream tap's capture cap."""

from __future__ import annotations

import time

import pytest

from r4u_proxy.addons.capture import Tap
from r4u_proxy.ids import iso_utc, ulid
from r4u_proxy.ingest.redact import fingerprint, redact_headers, redact_query
from r4u_proxy.providers.hosts import BadHostSpec, host_regex, intercept_regexes, parse_resolve


def test_secret_headers_become_fingerprints_that_tell_keys_apart():
    key_a, key_b = "sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA1111", "sk-proj-BBBBBBBBBBBBBBBBBBBBBBBB2222"
    headers = redact_headers([("Authorization", f"Bearer {key_a}"), ("X-Api-Key", key_b), ("Accept", "*/*")])
    assert "AAAAAAAA" not in headers["authorization"] and headers["authorization"].startswith("Bearer sk-proj-")
    assert headers["authorization"].endswith(fingerprint(key_a).split(" ")[-1])
    assert headers["x-api-key"] != fingerprint(key_a) and "BBBB" not in headers["x-api-key"]
    assert headers["accept"] == "*/*"
    for name in ("api-key", "x-goog-api-key", "proxy-authorization", "cookie"):
        assert "hunter2hunter2hunter2" not in redact_headers([(name, "hunter2hunter2hunter2")])[name]


def test_key_query_parameter_is_redacted_and_others_kept():
    out = redact_query("alt=sse&key=AIzaSyDUMMYDUMMYDUMMYDUMMY123")
    assert out.startswith("alt=sse&key=") and "DUMMYDUMMY" not in out
    assert redact_query("alt=sse") == "alt=sse"


@pytest.mark.parametrize(
    ("glob", "host", "matches"),
    [
        ("api.openai.com", "api.openai.com:443", True),
        ("api.openai.com", "xapi.openai.com:443", False),
        ("*.openai.azure.com", "myres.openai.azure.com:443", True),
        ("*.openai.azure.com", "openai.azure.com.evil.com:443", False),
    ],
)
def test_host_globs(glob, host, matches):
    import re

    assert bool(re.search(host_regex(glob), host)) is matches


def test_builtin_list_covers_the_big_providers_and_not_others():
    import re

    rules = intercept_regexes()
    def hit(h: str) -> bool:
        return any(re.search(r, h) for r in rules)
    for host in ("api.openai.com:443", "api.anthropic.com:443", "generativelanguage.googleapis.com:443",
                 "api.groq.com:443", "openrouter.ai:443", "x.openai.azure.com:443", "api.mistral.ai:443"):
        assert hit(host), host
    for host in ("github.com:443", "pypi.org:443", "example.com:443"):
        assert not hit(host), host


def test_resolve_specs():
    assert parse_resolve("api.openai.com=127.0.0.1:8443") == ("api.openai.com", ("127.0.0.1", 8443))
    assert parse_resolve("API.openai.com=[::1]:8443") == ("api.openai.com", ("::1", 8443))
    for bad in ("api.openai.com", "=1.2.3.4:5", "h=1.2.3.4", "h=1.2.3.4:0", "h=1.2.3.4:x"):
        with pytest.raises(BadHostSpec):
            parse_resolve(bad)


def test_ulids_sort_by_time_and_are_unique():
    ids = [ulid(1_700_000_000 + i) for i in range(100)]
    assert ids == sorted(ids) and len(set(ids)) == 100 and all(len(i) == 26 for i in ids)
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"


def test_tap_passes_every_byte_and_stores_at_most_the_cap():
    tap = Tap(cap=1000)
    chunk = b"x" * 300
    passed = b"".join(tap(chunk) for _ in range(10))
    assert passed == chunk * 10  # the app gets everything
    assert sum(len(d) for _, d in tap.chunks) == 1000 and tap.truncated and tap.total == 3000
    assert len(tap.chunks) == 10  # arrival times kept past the cap
    assert tap(b"") == b"" and tap.t_end is not None and tap.t_end <= time.time()


def test_tap_spills_long_bodies_to_the_writer_and_holds_when_refused():
    handed: list[list[tuple[float, bytes]]] = []
    accept = {"ok": True}

    def spill(chunks):
        if accept["ok"]:
            handed.append(list(chunks))
        return accept["ok"]

    tap = Tap(cap=10 * 1024 * 1024)
    tap.spill = spill
    piece = b"y" * (100 * 1024)
    for _ in range(6):
        tap(piece)
    assert len(handed) == 2 and tap.held == 0  # 256 KB reached after 3 pieces, twice
    accept["ok"] = False
    for _ in range(3):
        tap(piece)
    assert tap.held == 3 * len(piece)  # the writer's queue is full: keep it, nothing lost
    assert sum(len(d) for part in handed for _, d in part) + tap.held == tap.stored == 9 * len(piece)
