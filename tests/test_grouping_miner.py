"""The template miner on prompt texts: what a user sees as tasks, templates and variables."""

from __future__ import annotations

import random

from r4u_proxy.grouping.miner import Miner
from r4u_proxy.grouping.naming import variable_names
from r4u_proxy.grouping.template import Template

# A vocabulary the size of real text's everyday words: short shared runs are rare, as in real prompts.
SYLLABLES = "ka lo mi ne su ta re vo pi da fe gu ho ji ba".split()
WORDS = [a + b for a in SYLLABLES for b in SYLLABLES] + ["the", "of", "and", "to", "in"] * 10


def text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize() + rng.choice(".!? ")


def test_template_round_trip_is_exact_even_with_braces_and_repeats():
    template = Template(('Return JSON {"city": "', '"} for: ', ""))
    sample = 'Return JSON {"city": "Paris"} for: a text with "} for: inside'
    values = template.match(sample)
    assert values == ["Paris", 'a text with "} for: inside']
    assert template.render(values) == sample
    names = variable_names(template)
    assert names[0] == "city"
    assert template.format_string(names).format(**dict(zip(names, values, strict=True))) == sample


def final_ids(miner: Miner, partition: str, prompts: list[str]) -> set[int]:
    """The clusters the prompts end up in (early ones may have sat apart until a merge)."""
    found = [miner.match(partition, p) for p in prompts]
    assert all(f is not None for f in found)
    return {f[0] for f in found}


def test_translation_template_found_with_language_variable_and_long_texts():
    rng = random.Random(1)
    miner = Miner()
    languages = ["French", "German", "Spanish", "Japanese"]
    samples = []
    for _ in range(60):
        lang = rng.choice(languages)
        body = "\n\n".join(text(rng, 5, 400) for _ in range(rng.randint(1, 6)))
        prompt = f"[user]\nTranslate the following to {lang}. Keep the formatting.\n\n{body}"
        miner.add("chat", prompt)
        samples.append((prompt, lang, body))
    ids = final_ids(miner, "chat", [s[0] for s in samples])
    assert len(ids) == 1
    template = miner.clusters[ids.pop()].template
    assert template.constants == ("[user]\nTranslate the following to ", ". Keep the formatting.\n\n", "")
    for prompt, lang, body in samples:
        assert template.match(prompt) == [lang, body]


def test_a_word_that_takes_a_third_value_becomes_a_variable_and_the_first_task_id_survives():
    miner = Miner()
    rng = random.Random(2)
    prompts, first = [], None
    for city in ["Paris", "Paris", "Paris", "Lyon", "Lyon", "Nice", "Lille"]:
        for _ in range(3):
            prompts.append(f"[system]\nYou are a city guide for {city}.\n[user]\n{text(rng, 3, 12)}")
            cid, _ = miner.add("chat", prompts[-1])
            first = first or cid
    # Paris and Lyon alone could be two prompt versions; Nice shows the city is a variable.
    assert final_ids(miner, "chat", prompts) == {first}
    assert miner.clusters[first].template.constants == ("[system]\nYou are a city guide for ", ".\n[user]\n", "")


def test_templates_that_differ_in_a_few_words_stay_apart():
    rng = random.Random(3)
    miner = Miner()
    seen: dict[str, set[int]] = {"bullets": set(), "paragraph": set()}
    fed: list[tuple[str, str]] = []
    for _ in range(120):
        kind = rng.choice(["bullets", "paragraph"])
        shape = "3 bullet points" if kind == "bullets" else "one short paragraph"
        article = "\n\n".join(text(rng, 20, 200) for _ in range(rng.randint(1, 4)))
        fed.append((kind, f"[user]\nSummarize the article below in {shape} for a busy executive.\n\n{article}"))
        miner.add("chat", fed[-1][1])
    # Final assignment, as the database adapter keeps it: the template that fits now.
    for kind, prompt in fed:
        found = miner.match("chat", prompt)
        assert found is not None
        seen[kind].add(found[0])
    assert len(seen["bullets"]) == len(seen["paragraph"]) == 1
    assert seen["bullets"] != seen["paragraph"]


def test_different_partitions_never_share_a_task():
    miner = Miner()
    a, _ = miner.add('["openai","chat",["user"],[]]', "[user]\nHello there, how are you today?")
    b, _ = miner.add('["openai","chat",["user"],["search"]]', "[user]\nHello there, how are you today?")
    assert a != b


def test_unrelated_prompts_sharing_a_boilerplate_system_prompt_are_different_tasks():
    miner = Miner()
    fed: dict[str, list[str]] = {"title": [], "keywords": []}
    rng = random.Random(5)
    for _ in range(30):
        post, doc = text(rng, 30, 300), text(rng, 30, 300)
        fed["title"].append(f"[system]\nYou are a helpful assistant.\n[user]\nWrite a catchy title for this post:\n\n{post}")
        fed["keywords"].append(f"[system]\nYou are a helpful assistant.\n[user]\nList the ten most important keywords, comma separated.\n\n{doc}")
        miner.add("c", fed["title"][-1])
        miner.add("c", fed["keywords"][-1])
    ids = {kind: final_ids(miner, "c", prompts) for kind, prompts in fed.items()}
    assert len(ids["title"]) == 1 and len(ids["keywords"]) == 1
    assert ids["title"] != ids["keywords"]


def test_variable_names_come_from_the_text_around_them():
    template = Template(("<document>\n", "\n</document>\nQuestion: ", '\nReturn {"lang": "', '"}\nTone: ', "\n```diff\n", "\n```\n", ""))
    assert variable_names(template) == ["document", "question", "lang", "tone", "diff", "var6"]


def test_two_tasks_whose_templates_converge_are_merged_into_the_older():
    miner = Miner()
    miner.restore(1, "chat", Template(("[user]\nTranslate the following to French. Keep the formatting:\n\n", "")), 40)
    miner.restore(2, "chat", Template(("[user]\nTranslate the following to German. Keep the formatting:\n\n", "")), 30)
    cid, values = miner.add("chat", "[user]\nTranslate the following to Polish. Keep the formatting:\n\nDzien dobry")
    assert cid == 1 and values == ["Polish", "Dzien dobry"]
    assert list(miner.clusters) == [1] and miner.clusters[1].count == 71
    merged = [e for e in miner.take_events() if e.kind == "merged"]
    assert [(e.cluster, e.into) for e in merged] == [(2, 1)]
    assert miner.match("chat", "[user]\nTranslate the following to German. Keep the formatting:\n\nHallo")[0] == 1


def test_the_older_task_id_survives_a_merge_even_when_the_newer_template_generalises():
    miner = Miner()
    # Restored in this order, the French cluster (2) is tried first, refined, and then covers the
    # German one (1), which is older.
    miner.restore(2, "chat", Template(("[user]\nTranslate the following to French. Keep the formatting:\n\n", "")), 40)
    miner.restore(1, "chat", Template(("[user]\nTranslate the following to German. Keep the formatting:\n\n", "")), 30)
    cid, _ = miner.add("chat", "[user]\nTranslate the following to Polish. Keep the formatting:\n\nDzien dobry")
    assert cid == 1 and list(miner.clusters) == [1]
    assert miner.clusters[1].template.constants == (
        "[user]\nTranslate the following to ", ". Keep the formatting:\n\n", ""
    )


def test_task_names_read_the_prompt_and_never_repeat():
    from r4u_proxy.grouping.naming import task_name

    support = Template(("[system]\nYou are a support assistant for Acme Bank. Answer questions.\n[user]\n", ""))
    translate = Template(("[user]\nTranslate the following text to ", ". Keep the formatting.\n\n", ""))
    formal = Template(("[user]\nTranslate the following text to ", ". Use a formal register.\n\n", ""))
    taken: set[str] = set()
    names = []
    for template, variables in ((support, ["message"]), (translate, ["language", "text"]), (formal, ["language", "text"])):
        names.append(task_name(template, variables, taken))
        taken.add(names[-1])
    assert names[0] == "Support assistant for Acme Bank"  # the opener "You are a" says nothing
    assert names[1] == "Translate the following text to language"  # a variable reads as its name
    assert names[2].startswith(names[1]) and "formal" in names[2]  # reads on until it differs
    assert task_name(translate, ["language", "text"], {names[1], names[2]}) != names[1]
    assert task_name(Template(("[user]\n", "")), ["var1"], set()) == "Var1"
