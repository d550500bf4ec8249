"""Grouping keeps up with traffic that forms no template: the work per trace stays bounded."""

from __future__ import annotations

from r4u_proxy.grouping import miner as miner_module
from r4u_proxy.grouping.miner import Miner
from r4u_proxy.grouping.profile import PROMPTS


def test_one_off_prompts_do_not_make_grouping_quadratic(monkeypatch):
    calls = {"n": 0}
    real_align = miner_module.align

    def counting_align(*args, **kwargs):
        calls["n"] += 1
        return real_align(*args, **kwargs)

    monkeypatch.setattr(miner_module, "align", counting_align)
    miner = Miner()
    texts = [f"user: hello there {i}" for i in range(3000)]  # too short to anchor a template
    for text in texts:
        miner.add("openai|chat|user", text)
    # Without a bound this is 3000 * 2999 / 2 ≈ 4.5 million alignments.
    assert calls["n"] <= len(texts) * PROMPTS.max_align


def test_a_template_still_forms_among_many_one_offs():
    miner = Miner()
    for i in range(500):
        miner.add("p", f"user: hi {i}")
    ids = {
        miner.add("p", f"system: You are a support agent for ACME. Answer politely and briefly.\n\nuser: {q}")[0]
        for q in ("Where is my order 17?", "Can I return a lamp?", "How do I reset my password?")
    }
    assert len(ids) == 1
