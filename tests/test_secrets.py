"""Secrets never reach disk: fingerprints keep a known vendor prefix and 4 characters at most, and key-
shaped strings inside bodies (and the user's own --redact patterns) are fingerprinted before storage.
"""

from __future__ import annotations

import hashlib
import random
import string

from conftest import run_app, simulator_args, start_proxy

from r4u_proxy.ingest.redact import fingerprint, redact_headers, redact_text

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
# Each vendor's key format (prefix, alphabet, length of the random part), as their consoles issue them.
FORMATS = {
    "openai project": ("sk-proj-", URLSAFE, 156),
    "openai legacy": ("sk-", ALNUM, 48),
    "openai service account": ("sk-svcacct-", URLSAFE, 156),
    "anthropic": ("sk-ant-", URLSAFE, 95),  # sk-ant-api03-…: the api03- is part of what is hidden
    "google": ("AIza", URLSAFE, 35),
    "groq": ("gsk_", ALNUM, 52),
    "xai": ("xai-", ALNUM, 80),
    "huggingface": ("hf_", ALNUM, 34),
    "aws access key id": ("AKIA", string.ascii_uppercase + string.digits, 16),
    "github": ("ghp_", ALNUM, 36),
}


def _visible(fp: str) -> str:
    """The characters of the key a fingerprint shows (without the ellipsis and the hash)."""
    return fp.rsplit(" #", 1)[0].replace("…", "")


def _random_keys(rng: random.Random, prefix: str, alphabet: str, length: int, count: int) -> list[str]:
    table = bytes(ord(alphabet[i % len(alphabet)]) for i in range(256))  # random bytes → the alphabet
    return [prefix + rng.randbytes(length).translate(table).decode() for _ in range(count)]


def test_fingerprints_of_100k_random_keys_per_vendor_keep_the_prefix_and_4_characters_at_most():
    rng = random.Random(17)
    for name, (prefix, alphabet, length) in FORMATS.items():
        for key in _random_keys(rng, prefix, alphabet, length, 100_000):
            fp = fingerprint(key)
            assert _visible(fp) in (prefix + key[-4:], prefix), (name, key, fp)
            assert fp.endswith(" #" + hashlib.sha256(key.encode()).hexdigest()[:8])


def test_the_old_guessed_prefix_no_longer_exposes_google_keys():
    key = "AIzaSyDx-kQ_" + "x" * 23 + "hJ3k"  # letters and separators in front used to count as a prefix
    assert _visible(fingerprint(key)) == "AIza" + "hJ3k"
    assert _visible(fingerprint("Bearer " + key)) == "Bearer AIza" + "hJ3k"
    assert _visible(fingerprint("Basic " + "dXNlcjpodW50ZXIyaHVudGVyMg==")) == "Basic "  # no password tail
    assert _visible(fingerprint("short-secret")) == ""  # too short to keep any character


def test_key_shaped_strings_in_text_are_fingerprinted_and_json_stays_valid():
    import json

    key = "sk-proj-" + "Ab3De6Gh9" * 10
    body = json.dumps({"messages": [{"role": "user", "content": f"my key is {key}, keep it"}],
                       "tools": [{"api_key": "hunter2-hunter2"}], "note": "sk-learn and task-force are words"})  # fmt: skip
    redacted = redact_text(body)
    assert key not in redacted and "hunter2" not in redacted
    parsed = json.loads(redacted)
    assert parsed["messages"][0]["content"] == f"my key is {fingerprint(key)}, keep it"
    assert parsed["note"] == "sk-learn and task-force are words"
    assert redact_text(redacted) == redacted  # a fingerprint is not redacted again
    headers = redact_headers([("x-custom-auth", key), ("authorization", "Bearer " + key)])
    assert key not in str(headers)


REQUEST_WITH_SECRETS = """
import httpx
r = httpx.post("https://api.openai.com/v1/chat/completions", timeout=30,
               headers={"x-test-id": "MARKER", "authorization": "Bearer KEY"},
               json={"model": "gpt-4o", "metadata": {"api_key": "OWNSECRET-1234567"}, "messages": [
                   {"role": "system", "content": "Call the weather tool with api key KEY."},
                   {"role": "user", "content": "employee id EMP-778899 asks: what is the weather?"},
                   {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
                       "name": "weather", "arguments": '{"city": "Paris", "password": "OWNSECRET-7654321"}'}}]},
                   {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]})
assert r.status_code == 200
"""


def test_a_key_in_a_json_body_never_reaches_disk(sim, tmp_path, marker):
    key = "sk-proj-" + "".join(random.Random(3).choices(URLSAFE, k=120))
    proxy = start_proxy(tmp_path / "home", "--no-ui", "--redact", r"EMP-\d{6}", *simulator_args(sim))  # grouping on
    try:
        code = REQUEST_WITH_SECRETS.replace("MARKER", marker).replace("KEY", key)
        run_app(code, proxy.env())
        row = proxy.row_for(marker)
        assert fingerprint(key) in row["prompt_text"] and fingerprint(key) in row["request_body"]
        assert "EMP-778899" not in row["prompt_text"]
        grouped = proxy.wait_rows("id = ? and task_id is not null", (row["id"],), timeout=30)
        assert grouped, "grouping did not run"
    finally:
        proxy.stop()
    for path in proxy.home.rglob("*"):  # the database, its WAL, the FTS index, logs, stats
        if path.is_file():
            data = path.read_bytes()
            for secret in (key, key[8:40], "OWNSECRET-1234567", "OWNSECRET-7654321", "EMP-778899"):
                assert secret.encode() not in data, (secret, path)
