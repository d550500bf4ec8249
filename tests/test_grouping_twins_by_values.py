"""Near-twins whose first calls were merged, told apart later by the values of the variable that swallowed
their difference (real templates of public prompt libraries, see tests/support/prompt_library.py)."""

from __future__ import annotations

import random

from support import prompt_library as lib

from r4u_proxy.grouping.miner import Miner
from r4u_proxy.grouping.template import Template

PARTITION = "chat"


def grouped(calls: list[tuple[str, str]], miner: Miner | None = None) -> tuple[Miner, dict[str, set[int]]]:
    """Feed the calls as the task store does (a split cluster's members are fed again); the tasks each
    template's calls end up in."""
    miner = miner or Miner()
    members: dict[int, list[int]] = {}
    where = [0] * len(calls)

    def feed(i: int) -> None:
        where[i] = miner.add(PARTITION, calls[i][1])[0]
        members.setdefault(where[i], []).append(i)

    for i in range(len(calls)):
        feed(i)
        while events := miner.take_events():
            for event in events:
                if event.kind == "merged":
                    moved = members.pop(event.cluster, [])
                    members.setdefault(event.into, []).extend(moved)
                    for j in moved:
                        where[j] = event.into
                elif event.kind == "split":
                    for j in members.pop(event.cluster, []):
                        feed(j)
    ends: dict[str, set[int]] = {}
    for (template_id, _), cluster_id in zip(calls, where, strict=True):
        ends.setdefault(template_id, set()).add(cluster_id)
    return miner, ends


def shuffled(rng: random.Random, calls: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rng.shuffle(calls)
    return calls


def test_a_task_holding_two_twins_that_differ_after_a_short_variable_splits_into_one_task_each():
    # langchain's yellowbrick vector store: `COPY {table} (doc_id, text, metadata) FROM ...` and
    # `COPY {table} (doc_id, embedding_id, embedding) FROM ...`, a table name each time. A task from an
    # earlier run holds both, its variable `{table} (doc_id, ...` (the calls it first saw could not tell).
    rng = random.Random(21)
    merged = lib.constants("t0158")
    merged = Template((merged[0], merged[1].replace(" (doc_id, text, metadata", "")))
    # One table per customer (`"acme docs"`): every call names another one.
    tables = [f'"{customer} {kind}"' for kind in ("docs", "kb", "wiki", "faq") for customer in ("acme", "globex", "initech", "umbrella", "hooli")]
    rng.shuffle(tables)
    calls = [("t0158", lib.call("t0158", rng, table=tables.pop())) for _ in range(10)]
    calls += [("t0159", lib.call("t0159", rng, table=tables.pop())) for _ in range(10)]
    miner = Miner()
    miner.restore(4, PARTITION, merged, 5)
    assert all(merged.match(text) is not None for _, text in calls)
    miner, ends = grouped(shuffled(rng, calls), miner)
    assert len(ends["t0158"]) == len(ends["t0159"]) == 1 and ends["t0158"] != ends["t0159"]
    for template_id, columns in (("t0158", " (doc_id, text, metadata) FROM"), ("t0159", " (doc_id, embedding_id, embedding) FROM")):
        template = miner.clusters[next(iter(ends[template_id]))].template
        assert template.variable_count == 1 and columns in template.constants[1]
        for tid, text in calls:
            assert (template.match(text) is not None) == (tid == template_id)


def test_twins_one_of_which_has_a_few_words_before_a_long_variable_become_two_tasks():
    # langchain's pandas agent: "This is the result of `print(df.head())`:\n{df_head}" and the same with
    # " for each dataframe" before the colon, the values passages of documentation; the first calls of
    # the two meet before either is known.
    rng = random.Random(22)
    calls = [("t0169", lib.call("t0169", rng, df_head=lib.passage(rng, 5, 150))) for _ in range(12)]
    calls += [("t0170", lib.call("t0170", rng, dfs_head=lib.passage(rng, 5, 150))) for _ in range(12)]
    # Two of one and one of the other first: three values where the two differ make it look like a
    # variable (`:\n...` and ` for each dataframe:\n...`).
    calls = [calls[12], calls[0], calls[13]] + shuffled(rng, calls[1:12] + calls[14:])
    miner, ends = grouped(calls)
    assert len(ends["t0169"]) == len(ends["t0170"]) == 1 and ends["t0169"] != ends["t0170"]
    single = miner.clusters[next(iter(ends["t0169"]))].template.skeleton()
    multi = miner.clusters[next(iter(ends["t0170"]))].template.skeleton()
    assert "`print(df.head())`:" in single and "for each dataframe" not in single
    assert "`print(df.head())` for each dataframe:" in multi


def test_a_schema_variable_whose_tables_start_in_either_case_stays_one_task():
    # A text-to-SQL prompt whose schemas come as `CREATE TABLE ...` or `create table ...` (one or more
    # tables each): the words recur inside the values, so they are the values' own, not two templates.
    rng = random.Random(23)

    def schema() -> str:
        keyword = rng.choice(["CREATE TABLE", "create table"])
        tables = [f"{keyword} {name} (id INTEGER, {name}_name TEXT)" for name in rng.sample(["users", "orders", "items", "shops"], rng.randint(1, 3))]
        return ";\n".join(tables)

    questions = ["How many users signed up in May?", "Which shop sold the most items?", "List orders over 100.", "Who ordered twice?"]
    calls = [("sql", f"[user]\nGiven the database schema:\n{schema()}\n\nWrite a SQLite query that answers: {rng.choice(questions)}\nReturn only the SQL.") for _ in range(30)]
    _, ends = grouped(calls)
    assert len(ends["sql"]) == 1


def test_twins_that_differ_in_words_around_several_variables_become_two_tasks():
    # camel's two task-specify prompts: "Here is a task that {assistant_role} will help {user_role} to
    # complete: {task}." and "... that a programmer will help a person working in {domain} to complete
    # using {language}: {task}.": no variable alone has words enough of its own; together they do.
    rng = random.Random(24)
    roles = ["Python Programmer", "Accountant", "Travel Agent", "Nurse", "Data Scientist", "Chef", "Lawyer", "Teacher"]
    domains = ["Finance", "Biology", "Logistics", "Music", "Retail", "Sports", "Law", "Farming"]
    calls = []
    for _ in range(12):
        calls.append(("t0436", lib.call("t0436", rng, assistant_role=rng.choice(roles), user_role=rng.choice(roles), task=lib.sentence(rng), word_limit=str(rng.randint(20, 80)))))
        calls.append(("t0444", lib.call("t0444", rng, domain=rng.choice(domains), language=lib.language(rng), task=lib.sentence(rng), word_limit=str(rng.randint(20, 80)))))
    miner, ends = grouped(shuffled(rng, calls))
    assert len(ends["t0436"]) == len(ends["t0444"]) == 1 and ends["t0436"] != ends["t0444"]
    coder = miner.clusters[next(iter(ends["t0444"]))].template.skeleton()
    assert "a programmer will help a person working in " in coder and " to complete using " in coder


def test_a_passage_only_some_values_end_with_is_a_twin_s_own_text():
    # nemoguardrails' deepseek prompt: the general instructions followed by "IMPORTANT: Use a short
    # thinking process to determine the final answer." inside the quotes; the general prompt has not.
    rng = random.Random(25)
    calls = [("t0569", lib.call("t0569", rng, var_name="user_intent")) for _ in range(12)]
    calls += [("t0575", lib.call("t0575", rng)) for _ in range(12)]
    miner, ends = grouped(shuffled(rng, calls))
    assert len(ends["t0569"]) == len(ends["t0575"]) == 1 and ends["t0569"] != ends["t0575"]
    deepseek = miner.clusters[next(iter(ends["t0569"]))].template.skeleton()
    general = miner.clusters[next(iter(ends["t0575"]))].template.skeleton()
    assert "\n\nIMPORTANT: Use a short thinking process to determine the final answer.\n" in deepseek
    assert "IMPORTANT" not in general and "# This is how the user talks:\n" in general


def test_marks_between_two_variables_that_the_values_hold_too_are_no_constant():
    # A JSON-repair prompt: every blob holds `": ` many times, so the first two blobs shared it by
    # chance; once the task has texts enough, the JSON is one variable again.
    rng = random.Random(26)
    words = ["name", "price", "city", "qty", "owner", "tags", "id", "note"]

    def blob() -> str:
        fields = {f"{rng.choice(words)}{i}": rng.choice([rng.randint(0, 999), None, lib.sentence(rng)[:20]]) for i in range(rng.randint(2, 8))}
        text = str(fields).replace("'", '"').replace("None", "null")
        return rng.choice(["", "[", "  "]) + text[:-1] + rng.choice(["", ",}", "]"])

    head = "[user]\nThe following JSON is invalid. Fix it and return only the corrected JSON.\n\n"
    calls = [("json", head + blob()) for _ in range(30)]
    miner, ends = grouped(calls)
    assert len(ends["json"]) == 1
    assert miner.clusters[next(iter(ends["json"]))].template.constants == (head, "")


def test_templates_split_apart_get_back_the_text_the_merged_variable_had_swallowed():
    # llama-index's table-context refine prompt and langchain's refine prompt end alike ("We have
    # provided an existing answer: {existing_answer}\nGiven the new context, refine the original answer
    # ..."); their first calls met and became one task whose first variable held everything before
    # that. Once their values tell them apart, each gets its own template, with its own labels.
    rng = random.Random(27)

    def table_refine() -> str:
        return lib.call("t0270", rng, schema=lib.passage(rng, 10, 60), context_msg=lib.passage(rng, 20, 80),
                        query_str=lib.sentence(rng), existing_answer=lib.passage(rng, 10, 60))

    def refine() -> str:
        return lib.call("t0053", rng, question=lib.sentence(rng), existing_answer=lib.passage(rng, 10, 60),
                        context_str=lib.passage(rng, 20, 80))

    calls = [("t0270", table_refine()), ("t0053", refine())]
    calls += shuffled(rng, [("t0270", table_refine()) for _ in range(14)] + [("t0053", refine()) for _ in range(14)])
    miner, ends = grouped(calls)
    assert len(ends["t0270"]) == len(ends["t0053"]) == 1 and ends["t0270"] != ends["t0053"]
    table = miner.clusters[next(iter(ends["t0270"]))].template.skeleton()
    assert "\n---------------------\nWe have also provided some context information below. " in table
    assert "Given the context information and the table schema, give a response to the following task: " in table
    plain = miner.clusters[next(iter(ends["t0053"]))].template.skeleton()
    assert "The original question is as follows: " in plain and "table schema" not in plain


def test_constant_text_every_value_begins_with_moves_back_into_the_template():
    # lm-eval's Afrikaans translation prompt: "... to English \nAfrikaans: {sentence}\nEnglish: ". A task
    # from an earlier run lost the "Afrikaans: " label into its variable (its first calls met a twin,
    # "Akan: ..."). Every call since begins its value with it: the label is the template's again, and
    # the calls' values are the sentences alone.
    rng = random.Random(28)
    exact = lib.constants("t0732")
    loose = Template((exact[0][: -len("Afrikaans: ")], exact[1]))
    miner = Miner()
    miner.restore(3, PARTITION, loose, 5)
    sentences = [lib.sentence(rng) for _ in range(12)]
    calls = [("t0732", lib.call("t0732", rng, sentence_afr_Latn=text)) for text in sentences]
    miner, ends = grouped(calls, miner)
    assert ends["t0732"] == {3}
    template = miner.clusters[3].template
    assert template.constants == exact
    assert [template.match(text) for _, text in calls] == [[text] for text in sentences]
