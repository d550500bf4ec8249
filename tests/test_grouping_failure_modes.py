"""The miner on real prompt templates (public prompt libraries, see tests/support/prompt_library.py) where
grouping used to go wrong: near-twins merged, short templates never learned, labels between variables
lost, tasks found apart never merged."""

from __future__ import annotations

import random

from support import prompt_library as lib

from r4u_proxy.grouping.miner import Miner
from r4u_proxy.grouping.template import Template

PARTITION = "chat"


def mine(calls: list[tuple[str, str]], miner: Miner | None = None) -> tuple[Miner, dict[str, set[int]]]:
    """Feed (template id, text) pairs; the clusters each template's calls end up in (merges followed)."""
    miner = miner or Miner()
    for _, text in calls:
        miner.add(PARTITION, text)
    ends: dict[str, set[int]] = {}
    for template_id, text in calls:
        found = miner.match(PARTITION, text)
        assert found is not None, text[:200]
        ends.setdefault(template_id, set()).add(found[0])
    return miner, ends


def shuffled(rng: random.Random, plan: dict[str, int], **values) -> list[tuple[str, str]]:
    calls = [(tid, lib.call(tid, rng, **values.get(tid, {}))) for tid, n in plan.items() for _ in range(n)]
    rng.shuffle(calls)
    return calls


def test_near_twins_that_differ_in_a_labelled_passage_stay_two_tasks_with_their_labels():
    # langchain's query-constructor examples: one has a "Data Source:" passage the other has not.
    rng = random.Random(4)
    miner, ends = mine(shuffled(rng, {"t0043": 10, "t0044": 10}))
    assert len(ends["t0043"]) == len(ends["t0044"]) == 1
    (long,), (short,) = ends["t0043"], ends["t0044"]
    assert short != long
    assert "\nData Source:\n" in miner.clusters[long].template.skeleton()
    assert "Data Source" not in miner.clusters[short].template.skeleton()


def test_near_twins_one_word_apart_stay_apart_and_a_third_value_makes_the_word_a_variable():
    # Two members of lm-eval's diacritics family, Gbomala and Fon: many calls each, always two values.
    rng = random.Random(5)
    calls = shuffled(rng, {"t0710": 12, "t0711": 12})
    miner, ends = mine(calls)
    assert len(ends["t0710"]) == len(ends["t0711"]) == 1 and ends["t0710"] != ends["t0711"]
    (gbomala,) = ends["t0710"]
    assert miner.clusters[gbomala].template.constants == lib.constants("t0710")
    # The family's other members (Igbo, Yoruba...) differ in the language only: with a third language
    # the language is a variable and the two tasks become one, the older id surviving.
    third = [lib.call("t0710", rng).replace("Gbomala", "Igbo") for _ in range(2)]
    for text in third:
        miner.add(PARTITION, text)
    merged = {miner.match(PARTITION, text)[0] for _, text in calls} | {miner.match(PARTITION, t)[0] for t in third}
    assert merged == {min(ends["t0710"] | ends["t0711"])}
    assert miner.clusters[merged.pop()].template.variable_count == 3  # the language (twice) and the text


def test_templates_with_three_words_of_their_own_are_learned_from_three_calls():
    # haystack's "With user feedback: {feedback}" and metagpt's "Please respond in {language}.", three
    # calls each, among other short prompts.
    rng = random.Random(6)
    feedback = [lib.sentence(rng), lib.question(rng), lib.sentence(rng)]
    calls = [("t0399", lib.call("t0399", rng, feedback=text)) for text in feedback]
    calls += [("t0477", lib.call("t0477", rng, language=lib.language(rng))) for _ in range(3)]
    calls += shuffled(rng, {"t0303": 4, "t0984": 4})
    rng.shuffle(calls)
    miner, ends = mine(calls)
    for template_id in ("t0399", "t0477"):
        assert len(ends[template_id]) == 1, template_id
        assert miner.clusters[next(iter(ends[template_id]))].template.constants == lib.constants(template_id)
    assert ends["t0399"] != ends["t0477"]
    for other in ("t0303", "t0984"):
        assert ends[other].isdisjoint(ends["t0399"] | ends["t0477"])


def test_a_label_between_two_long_variables_is_kept():
    # lm-eval's German QA prompt: a passage and a question, each of any length, with "Frage:" between.
    rng = random.Random(7)
    calls = [
        ("t0902", lib.call("t0902", rng, context=lib.passage(rng, 40, 250), question=lib.passage(rng, 5, 60)))
        for _ in range(8)
    ]
    miner, ends = mine(calls)
    assert len(ends["t0902"]) == 1
    template = miner.clusters[ends["t0902"].pop()].template
    assert template.constants == lib.constants("t0902")
    for _, text in calls:
        values = template.match(text)
        assert values is not None and template.render(values) == text


def test_tasks_found_apart_merge_when_a_third_text_shows_the_word_is_a_variable():
    # Two tasks from an earlier run (restored after a restart), the same prompt with another language
    # each; a call with a third language shows it is one template: both merge, the older id survives.
    rng = random.Random(8)
    head = lib.constants("t0710")
    miner = Miner()
    for cluster_id, language in ((3, "Gbomala"), (7, "Fon")):
        constants = tuple(c.replace("Gbomala", language) for c in head)
        miner.restore(cluster_id, PARTITION, Template(constants), 5)
    text = lib.call("t0710", rng).replace("Gbomala", "Ewe")
    cluster_id, _ = miner.add(PARTITION, text)
    events = miner.take_events()
    assert cluster_id == 3 and set(miner.clusters) == {3}
    assert [(e.kind, e.cluster, e.into) for e in events if e.kind == "merged"] == [("merged", 7, 3)]
    for language in ("Gbomala", "Fon", "Ewe"):
        assert miner.match(PARTITION, lib.call("t0710", rng).replace("Gbomala", language))[0] == 3


def test_near_twins_whose_word_sits_in_a_label_before_a_long_variable_keep_the_word():
    # lm-eval's intent prompts: "The following text is in Amharic: '{text}'" and "... in English: ...",
    # the texts passages of documentation: the changed word must not vanish into the variable after it.
    rng = random.Random(9)
    texts = {"t0750": [], "t0751": []}
    calls = []
    for template_id in texts:
        for _ in range(8):
            calls.append((template_id, lib.call(template_id, rng, text=lib.passage(rng, 5, 120))))
    rng.shuffle(calls)
    miner, ends = mine(calls)
    assert len(ends["t0750"]) == len(ends["t0751"]) == 1 and ends["t0750"] != ends["t0751"]
    for template_id, word in (("t0750", "Amharic: '"), ("t0751", "English: '")):
        assert word in miner.clusters[next(iter(ends[template_id]))].template.skeleton()


def test_values_that_begin_and_end_with_other_blanks_still_join_their_task():
    # langchain's tree-of-thought checker: "PROBLEM\n        \n        {problem_description}\n\n
    # THOUGHTS ...". Its first calls held indented code (their values begin with spaces and end with a
    # line break), the later ones plain sentences: the blanks around a value are no part of the template.
    rng = random.Random(10)

    def indented() -> str:
        return "   " + lib.passage(rng, 10, 40).replace("\n", "\n   ") + "\n"

    calls = [("t0207", lib.call("t0207", rng, problem_description=indented(), thoughts=lib.passage(rng, 20, 80))) for _ in range(4)]
    calls += [("t0207", lib.call("t0207", rng, problem_description=lib.sentence(rng), thoughts=lib.passage(rng, 20, 80))) for _ in range(6)]
    miner, ends = mine(calls)
    assert len(ends["t0207"]) == 1
    skeleton = miner.clusters[ends["t0207"].pop()].template.skeleton()
    assert "\n\n        THOUGHTS\n        \n        \x00\n\n        Evaluate the thoughts" in skeleton


def test_a_label_the_few_shot_examples_repeat_is_kept_before_the_question_s_own_value():
    # llama-index's step-decompose prompt: four examples with "Previous reasoning: ..." each, then the
    # question's own "Knowledge source context: {context_str}\nPrevious reasoning: {prev_reasoning}":
    # the label is in every text five times, so it is no single shared line; its last one is the
    # template's, between two long values.
    rng = random.Random(11)
    calls = [
        ("t0245", lib.call("t0245", rng, query_str=rng.choice([lib.question, lib.sentence])(rng), context_str=lib.passage(rng, 60, 150), prev_reasoning=lib.passage(rng, 60, 150)))
        for _ in range(8)
    ]
    miner, ends = mine(calls)
    assert len(ends["t0245"]) == 1
    assert miner.clusters[ends["t0245"].pop()].template.constants == lib.constants("t0245")
