"""Content-decoding of captured chunks: every encoding, split at random points, keeping chunk times."""

from __future__ import annotations

import gzip
import random
import zlib

import brotli
import pytest
import zstandard

from r4u_proxy.ingest.decoding import decode_chunks
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR

BODY = (RECORDINGS_DIR / "openai_chat/gpt4o_json_object_long.sse").read_bytes()


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,  # zlib-wrapped, as the RFC says
    "deflate-raw": raw_deflate,  # what some servers send as "deflate"
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "identity": lambda data: data,
}


def random_chunks(data: bytes, seed: int) -> list[tuple[float, bytes]]:
    rng = random.Random(seed)
    cuts = sorted({rng.randrange(1, len(data)) for _ in range(rng.choice([1, 5, 40, 400]))})
    bounds = [0, *cuts, len(data)]
    return [(float(end), data[start:end]) for start, end in zip(bounds, bounds[1:], strict=False)]


@pytest.mark.parametrize("name", list(ENCODERS))
def test_each_encoding_at_random_split_points(name):
    header = "deflate" if name == "deflate-raw" else name
    encoded = ENCODERS[name](BODY)
    for seed in range(5):
        chunks = random_chunks(encoded, seed)
        decoded, note = decode_chunks(chunks, header)
        assert note is None
        assert b"".join(data for _, data in decoded) == BODY
        times = [t for t, _ in decoded]
        assert times == sorted(times) and set(times) <= {t for t, _ in chunks}


def test_one_byte_at_a_time_keeps_each_bytes_time():
    encoded = gzip.compress(BODY)
    chunks = [(float(i), encoded[i : i + 1]) for i in range(len(encoded))]
    decoded, note = decode_chunks(chunks, "gzip")
    assert note is None and b"".join(d for _, d in decoded) == BODY
    # Decoded text comes out spread over the input chunks, not all at the end.
    assert len(decoded) > 10 and decoded[0][0] < len(encoded) / 2


def test_stacked_encodings_are_undone_right_to_left():
    encoded = brotli.compress(gzip.compress(BODY))  # "gzip, br": gzip applied first
    decoded, note = decode_chunks(random_chunks(encoded, 1), "gzip, br")
    assert note is None and b"".join(d for _, d in decoded) == BODY


def test_corrupt_body_gives_a_note_and_what_decoded_before_the_damage():
    encoded = bytearray(gzip.compress(BODY))
    encoded[-8] ^= 0xFF  # break the CRC in the gzip trailer
    decoded, note = decode_chunks(random_chunks(bytes(encoded), 3), "gzip")
    assert note is not None and note.startswith("could not decode gzip body after")
    assert "incorrect data check" in note
    assert BODY.startswith(b"".join(d for _, d in decoded))

    encoded = bytearray(gzip.compress(BODY))
    encoded[len(encoded) // 2 :] = b"\x00garbage" * (len(encoded) // 16)
    decoded, note = decode_chunks(random_chunks(bytes(encoded), 3), "gzip")
    assert note is not None  # either a decode error or "ended early", never an exception


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd", "deflate"])
def test_garbage_never_raises(encoding):
    decoded, note = decode_chunks([(1.0, b"definitely not compressed"), (2.0, b"\xff" * 50)], encoding)
    assert note is not None


def test_truncated_gzip_is_noted():
    encoded = gzip.compress(bytes(random.Random(0).randbytes(20000)))
    decoded, note = decode_chunks([(1.0, encoded[: len(encoded) // 2])], "gzip")
    assert note == "gzip body ended early" and decoded


def test_unknown_encoding_keeps_the_body():
    chunks = [(1.0, b"abc")]
    assert decode_chunks(chunks, "compress") == (
        chunks,
        "unsupported content-encoding compress; body kept as received",
    )
    assert decode_chunks(chunks, None) == (chunks, None)
    assert decode_chunks(chunks, "identity") == (chunks, None)
