"""Print, as JSON, the final objects the official SDKs' own stream helpers assemble from recorded streams.

Run by the *application* env (`.venv-app/bin/python tests/sdk/sdk_final_objects.py FIXTURE_DIR`): openai 3.x
and anthropic 2.x talk through an httpx2.MockTransport that replays each fixture's bytes, so nothing touches
the network. The OpenAI-compatible vendor streams in other/ go through the same OpenAI helpers.
Output: {"<dir>/<file>": {"final": {...}} | {"error": "<ExceptionType>: <message>"}}.
tests/test_reassembly.py compares these with r4u's own reassembly.
"""

from __future__ import annotations

import json
import pathlib
import sys
import warnings

import anthropic
import httpx2
import openai


def replaying(body: bytes) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def openai_chat_final(body: bytes) -> dict:
    client = openai.OpenAI(
        api_key="sk-test", base_url="https://api.openai.com/v1", http_client=replaying(body)
    )
    with client.chat.completions.stream(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        return stream.get_final_completion().model_dump(mode="json", warnings=False)


def openai_responses_final(body: bytes) -> dict:
    client = openai.OpenAI(
        api_key="sk-test", base_url="https://api.openai.com/v1", http_client=replaying(body)
    )
    with client.responses.stream(model="gpt-4o", input="hi") as stream:
        return stream.get_final_response().model_dump(mode="json", warnings=False)


def anthropic_final(body: bytes) -> dict:
    client = anthropic.Anthropic(api_key="sk-ant-test", http_client=replaying(body))
    messages = [{"role": "user", "content": "hi"}]
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=1024, messages=messages) as stream:
        return stream.get_final_message().model_dump(mode="json", warnings=False)


ASSEMBLERS = {
    "openai_chat": openai_chat_final,
    "openai_responses": openai_responses_final,
    "anthropic_messages": anthropic_final,
}


def assembler_for(name: str):
    directory, _, file_name = name.partition("/")
    if directory == "other":  # OpenAI-compatible vendors: their Responses streams or Chat streams
        return openai_responses_final if "responses" in file_name else openai_chat_final
    return ASSEMBLERS.get(directory)


def main(fixture_root: str) -> None:
    warnings.simplefilter("ignore")  # serializer and model-deprecation chatter, not results
    results: dict[str, dict] = {}
    for path in sorted(pathlib.Path(fixture_root).glob("*/*.sse")):
        name = f"{path.parent.name}/{path.name}"
        assemble = assembler_for(name)
        if assemble is None:
            continue
        try:
            results[name] = {"final": assemble(path.read_bytes())}
        except Exception as exc:  # the test asserts which fixtures an SDK rejects, and why
            results[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
