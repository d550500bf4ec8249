"""Two calls that `settle` keeps apart (they differ in a word or two: near-twins or a value, only a third
call tells) leave their common template behind; a third call that fits it is settled with them without
being aligned again. Real templates from public prompt libraries (tests/support/prompt_library.py)."""

from __future__ import annotations

import random

from support import prompt_library as lib

from r4u_proxy.grouping import miner as miner_module
from r4u_proxy.grouping import settle as settle_module
from r4u_proxy.grouping.miner import Miner
from r4u_proxy.grouping.pairs import MAX_PAIRS, Pairs
from r4u_proxy.grouping.template import Template

PARTITION = "chat"


def test_a_third_call_that_fits_two_calls_kept_apart_joins_them_without_an_alignment(monkeypatch):
    aligned = {"n": 0}
    for module in (miner_module, settle_module):
        real = module.align

        def counting(*args, _real=real, **kwargs):
            aligned["n"] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, "align", counting)
    rng = random.Random(8)
    # lm-eval's diacritics prompt, the sentence a single word: two calls could be near-twins.
    texts = [lib.call("t0710", rng, text=word) for word in ("Ìlú", "Ọmọ", "Ilé")]
    miner = Miner()
    first, _ = miner.add(PARTITION, texts[0])
    second, _ = miner.add(PARTITION, texts[1])
    assert first != second
    before = aligned["n"]
    third, values = miner.add(PARTITION, texts[2])
    assert aligned["n"] == before  # matched by glob against the pair's common template
    assert third == first and values == ["Ilé"]
    assert {miner.match(PARTITION, t)[0] for t in texts} == {first}
    assert miner.clusters[first].template.constants == lib.constants("t0710")


def test_the_pairs_a_partition_keeps_are_bounded_the_oldest_forgotten_first():
    pairs = Pairs()
    for i in range(MAX_PAIRS + 5):
        pairs.add(Template((f"[user]\nTicket {i} from ", ": please answer it.")), [2 * i, 2 * i + 1], False)
    assert len(pairs) == MAX_PAIRS
    assert pairs.fitting("[user]\nTicket 0 from Ann: please answer it.") == []
    (_, newest), = pairs.fitting(f"[user]\nTicket {MAX_PAIRS + 4} from Ann: please answer it.")
    assert newest.clusters == (2 * MAX_PAIRS + 8, 2 * MAX_PAIRS + 9)


def test_the_truth_the_tests_use_reads_doubled_braces_as_one_brace():
    # langchain's tool-selection prompt holds a JSON example in doubled braces.
    rng = random.Random(2)
    text = lib.call("t0198", rng, tools="search, calculator")
    template = Template(lib.constants("t0198"))
    assert template.render(["search, calculator"]) == text
