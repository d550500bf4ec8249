"""The shortcuts that keep the miner fast must not change what it finds: a template with two short ends is
still tried when it is the most specific, and an alignment skipped by its bound could never have joined."""

from __future__ import annotations

import random

from support import prompt_library as lib

from r4u_proxy.grouping.miner import Miner
from r4u_proxy.grouping.profile import PROMPTS
from r4u_proxy.grouping.prompt_align import align
from r4u_proxy.grouping.prompt_tokens import template_tokens, text_tokens
from r4u_proxy.grouping.template import Template
from r4u_proxy.grouping.verdicts import plausible, within_reach


def test_the_most_specific_template_wins_whether_or_not_its_ends_are_short():
    # llama-index's image prompt starts with a variable right after `[user]` and ends with `" />.`: its
    # template is filed by neither end, and is tried only when it could beat the match found by an end.
    text = lib.call("t0244", random.Random(3))
    true = Template(lib.constants("t0244"))
    assert true.match(text) is not None and len(true.constants[0]) < 12 and len(true.constants[-1]) < 12
    general = Template((text[:30], text[-5:]))  # filed by its start, fits the text, fixes less of it
    miner = Miner()
    miner.restore(1, "chat", general, 3)
    miner.restore(2, "chat", true, 3)
    assert miner.match("chat", text)[0] == 2
    closer = Template((text[: len(text) - 40], text[-5:]))  # fixes more of the text than the true one
    miner.restore(3, "chat", closer, 3)
    assert miner.match("chat", text)[0] == 3
    other = lib.call("t0244", random.Random(4))  # another call fits only the true template
    assert miner.match("chat", other)[0] == 2


def test_an_alignment_skipped_for_lack_of_common_text_could_never_have_been_plausible():
    rng = random.Random(11)
    ids = ["t0033", "t0244", "t0311", "t0526", "t0562", "t0573", "t0833", "t0857", "t0995", "t0996"]
    templates = []
    for tid in ids:  # each template as the miner learns it from a few calls
        miner = Miner()
        for _ in range(3):
            cluster_id, _ = miner.add("chat", lib.call(tid, rng))
        templates.append(miner.clusters[cluster_id].template)
    templates += [Template.literal(lib.call(tid, rng)) for tid in ids]  # and as texts seen once
    skipped = 0
    for template in templates:
        content = template_tokens(template, PROMPTS).tokens.weight[-1]
        for tid in ids:
            text = lib.call(tid, rng)
            tokens = text_tokens(text, PROMPTS)
            if not within_reach(PROMPTS, template, content, tokens.weight[-1]):
                skipped += 1
                assert not plausible(PROMPTS, template, 3, align(template, text, PROMPTS, tokens))
    assert skipped  # (the bound did rule some out)


def test_a_refiled_task_is_found_by_its_new_trigrams_only():
    from r4u_proxy.grouping.candidates import CandidateIndex, keyed

    rng = random.Random(5)
    first, second = (keyed(text_tokens(lib.call("t0995", rng), PROMPTS).codes)[0] for _ in range(2))
    index = CandidateIndex()
    index.add(1, first)
    index.add(2, second)
    index.add(1, second)  # task 1's template changed: filed under the new trigrams, dropped from the old
    gone = first - second
    assert gone and all(cid != 1 for cid, _ in index.voted(gone, 4))
    assert {cid for cid, _ in index.voted(second, 4)} == {1, 2}
    index.remove(2)
    index.remove(1)
    assert not index._postings  # nothing left behind


def test_token_weights_stay_right_when_the_weight_cache_fills_up_midway():
    from dataclasses import replace

    profile = replace(PROMPTS, _weights={}, _codes={})  # caches of its own
    assert profile._weights is not PROMPTS._weights
    profile._weights.update((f"w{i}", 1.0) for i in range(199_990))  # nearly full: it starts afresh midway
    text = lib.call("t0244", random.Random(6))
    tokens = text_tokens(text, profile)
    assert tokens.values == [PROMPTS.weight(t) for t in PROMPTS.tokenize(text)]
