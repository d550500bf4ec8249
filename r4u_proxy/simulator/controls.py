"""The `x-sim-*` request headers that steer a reply, parsed once per request.

Controls are stateless on purpose: any client, including the official SDKs through `extra_headers`, can
drive them, and two tests sharing one simulator cannot disturb each other.
"""

from __future__ import annotations

from dataclasses import dataclass

ENCODINGS = ("gzip", "br", "deflate", "zstd")
BODY_KINDS = ("binary-2mb", "not-json", "html", "empty", "truncated-json")


class ControlError(ValueError):
    """A malformed x-sim-* header; reported to the client as a 400 so the mistake is visible."""


@dataclass(frozen=True)
class Controls:
    fixture: str | None = None  # path of a recorded .sse file, relative to the fixtures dir
    gap_ms: float = 0.0  # pause between SSE events
    first_delay_ms: float = 0.0  # pause after the first event (the role chunk): a slow first token
    headers_delay_ms: float = 0.0  # pause before the response headers: a slow upstream
    status: int | None = None  # reply this status with a provider-shaped error body (>= 400)
    body: str | None = None  # one of BODY_KINDS: a reply that is not the expected JSON
    reset_after: int | None = None  # send this many body bytes, then reset the TCP connection
    hang: bool = False  # send headers and the first event, then never finish
    encoding: str | None = None  # content-encode the reply, flushing per event
    events: int | None = None  # synthetic stream of this many content events
    content_type: str | None = None  # override the reply's content-type
    stream: bool | None = None  # force streaming on/off regardless of the request body
    split: str | None = None  # re-cut the body into writes: "1" (one byte each) or "random:SEED" (1-64 bytes)
    pad_bytes: int = 0  # synthetic events carry this much padding each (large-stream tests)

    @property
    def wants_delay(self) -> bool:
        return self.gap_ms > 0 or self.first_delay_ms > 0


def header_number(headers: dict[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ControlError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ControlError(f"{name} must not be negative, got {raw!r}")
    return value


def header_flag(headers: dict[str, str], name: str) -> bool | None:
    raw = headers.get(name)
    if raw is None:
        return None
    return raw.strip().lower() in ("1", "true", "yes", "on")


def parse_controls(headers: dict[str, str]) -> Controls:
    """Read the x-sim-* headers (keys already lower-cased) into Controls; raises ControlError."""
    status = header_number(headers, "x-sim-status")
    if status is not None and not 100 <= status <= 599:
        raise ControlError(f"x-sim-status must be an HTTP status, got {status:g}")
    reset_after = header_number(headers, "x-sim-reset-after")
    events = header_number(headers, "x-sim-events")

    encoding = headers.get("x-sim-encoding")
    if encoding is not None:
        encoding = encoding.strip().lower()
        if encoding not in ENCODINGS:
            raise ControlError(f"x-sim-encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    body = headers.get("x-sim-body")
    if body is not None:
        body = body.strip().lower()
        if body not in BODY_KINDS:
            raise ControlError(f"x-sim-body must be one of {', '.join(BODY_KINDS)}, got {body!r}")

    return Controls(
        fixture=headers.get("x-sim-fixture") or None,
        gap_ms=header_number(headers, "x-sim-gap-ms") or 0.0,
        first_delay_ms=header_number(headers, "x-sim-first-delay-ms") or 0.0,
        headers_delay_ms=header_number(headers, "x-sim-headers-delay-ms") or 0.0,
        status=int(status) if status is not None else None,
        body=body,
        reset_after=int(reset_after) if reset_after is not None else None,
        hang=bool(header_flag(headers, "x-sim-hang")),
        encoding=encoding,
        events=int(events) if events is not None else None,
        content_type=headers.get("x-sim-content-type") or None,
        stream=header_flag(headers, "x-sim-stream"),
        split=_split(headers.get("x-sim-split")),
        pad_bytes=int(header_number(headers, "x-sim-pad-bytes") or 0),
    )


def _split(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = raw.strip().lower()
    if value == "1" or (value.startswith("random:") and value[7:].isdigit()):
        return value
    raise ControlError(f"x-sim-split must be 1 or random:SEED, got {raw!r}")
