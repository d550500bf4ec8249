"""Secrets never reach disk: fingerprints keep a known vendor prefix and 4 characters at most, and key-
shaped strings inside bodies (and the user's own --redact patterns) are fingerprinted before storage
(through a real proxy, down to the bytes of every file it wrote: tests/test_privacy.py).
"""

from __future__ import annotations

import hashlib
import random
import string

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
    "google oauth access token": ("ya29.", URLSAFE, 160),  # Gemini CLI's Google login (Code Assist)
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
    # A Google OAuth access token (Code Assist) outside an Authorization header, e.g. echoed in a body
    token = "ya29.a0AfB_byC" + "Xy9-k" * 30
    assert token not in redact_text(json.dumps({"contents": [{"parts": [{"text": f"token {token}"}]}]}))
    assert _visible(fingerprint(token)) == "ya29." + token[-4:]
