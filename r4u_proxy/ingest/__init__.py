"""From captured bytes to a `traces` row, in the writer process: decode, split streams, parse, redact, build.

The order a call takes: `decoding` (content-encoding) → `sse` (event framing) → `parse` (the provider family
reads models, text, usage, the reassembled body) → `redact` (secrets to fingerprints) → `row` (the columns).
"""
