"""Content storage end to end: official SDKs → the proxy → the simulator; every family's request body reads
back from `traces` as the JSON the upstream received, streams included, images and base64 embeddings kept
once as payloads and out of search.

The image is mitmproxy's own onboarding logo (shipped in its package), sent base64 as apps send screenshots.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from pathlib import Path

import mitmproxy
from support.proxy import run_app

IMAGE = Path(mitmproxy.__file__).parent / "addons" / "onboardingapp" / "static" / "images" / "mitmproxy-long.png"

APP = """
import base64, json, os, anthropic, httpx, openai
marker = os.environ["MARK"]
image = base64.b64encode(open(os.environ["IMAGE"], "rb").read()).decode()
def tag(name): return {"x-test-id": f"{marker}-{name}"}
oa = openai.OpenAI()
oa.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Say hi"}], extra_headers=tag("chat"))
list(oa.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Count to three"}],
    stream=True, stream_options={"include_usage": True}, extra_headers=tag("chat-stream")))
oa.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": [
    {"type": "text", "text": "What is in this picture?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + image}}]}], extra_headers=tag("chat-image"))
list(oa.responses.create(model="gpt-5", instructions="Answer in French.", input=[
    {"role": "user", "content": "Bonjour?"}], stream=True, extra_headers=tag("responses-stream")))
oa.responses.create(model="gpt-5", input="a plain string input", extra_headers=tag("responses-string"))
oa.embeddings.create(model="text-embedding-3-small", input=["first text", "second text"], extra_headers=tag("embeddings"))
try:
    oa.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test", extra_headers=tag("completions"))
except openai.NotFoundError:
    pass  # the simulator has no legacy completions: the call is recorded all the same
an = anthropic.Anthropic()
with an.messages.stream(model="claude-sonnet-4-5", max_tokens=200, system="You describe images.", messages=[
        {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image}},
                                     {"type": "text", "text": "Describe it, with émoji 🎉 and \\"quotes\\"."}]}],
        extra_headers=tag("anthropic-stream")) as stream:
    stream.get_final_message()
gemini = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
body = {"systemInstruction": {"parts": [{"text": "Be helpful."}]},
        "contents": [{"role": "user", "parts": [{"text": "What is this?"}, {"inlineData": {"mimeType": "image/png", "data": image}}]}]}
httpx.post(gemini + ":generateContent?key=AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE12", json=body, headers=tag("gemini"), timeout=30)
httpx.post(gemini + ":streamGenerateContent?alt=sse&key=AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE12", json=body,
           headers=tag("gemini-stream"), timeout=30)
"""
CALLS = ("chat", "chat-stream", "chat-image", "responses-stream", "responses-string", "embeddings", "completions",
         "anthropic-stream", "gemini", "gemini-stream")  # fmt: skip


def test_every_family_reads_back_as_sent_with_payloads_stored_once(proxy, sim, marker):
    image = base64.b64encode(IMAGE.read_bytes()).decode()
    run_app(APP, {**proxy.env(), "MARK": marker, "IMAGE": str(IMAGE)}, timeout=180)
    received = {}
    for request in sim.requests:
        name = (request.header("x-test-id") or "").removeprefix(f"{marker}-")
        if name in CALLS:
            received[name] = json.loads(request.body)
    assert set(received) == set(CALLS)
    rows = {name: proxy.row_for(f"{marker}-{name}") for name in CALLS}
    for name, row in rows.items():
        assert json.loads(row["request_body"]) == received[name], name  # the same JSON, family by family
    assert {rows[n]["stream"] for n in ("chat-stream", "responses-stream", "anthropic-stream", "gemini-stream")} == {1}
    assert rows["responses-string"]["prompt_text"] == "user: a plain string input"
    assert "Say hi" in rows["chat"]["prompt_text"] and "Bonjour?" in rows["responses-stream"]["prompt_text"]
    assert rows["anthropic-stream"]["prompt_text"].startswith("system: You describe images.\n\nuser: Describe it")
    # The image went three times through three families: its bytes are stored once, as what they are.
    conn = sqlite3.connect(proxy.db)
    payloads = conn.execute(
        "select media_type, bytes from contents where kind = 'string' and (text like ? or text = ?)",
        ["data:image/png;base64,%", image],
    ).fetchall()
    assert sorted(payloads) == [("image/png", len(IMAGE.read_bytes()))] * 2  # plain base64, and the data: URL
    embedding = json.loads(rows["embeddings"]["response_body"])["data"][0]["embedding"]
    assert isinstance(embedding, str) and len(base64.b64decode(embedding)) == 1536 * 4  # read back whole
    # Neither the image nor the embedding reaches the text search indexes.
    token = re.findall(r"(?<=[+/])[A-Za-z0-9]{8,}(?=[+/])", image)[0]  # one word of it, as the tokenizer cuts
    assert conn.execute("select count(*) from traces_fts where traces_fts match ?", [f'"{token}"']).fetchone() == (0,)
    assert all(image[:200] not in (row["prompt_text"] or "") for row in rows.values())
