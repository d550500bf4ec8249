"""A prompt corpus with ground truth: 25 templates in the styles real apps use.

RAG with a pasted document, extraction to JSON, few-shot classification, code review with a diff,
translation, summarisation, agents with tools (some multi-turn), SQL generation... Variables run from
one word to several thousand characters; some templates differ only in a few words (two summary
formats, two translation registers, two support bots); three share a boilerplate system prompt.

`generate(n, seed)` returns `Sample`s: the request's prompt parts, provider/operation, the true
template name and the true template as constants (what a perfect miner would find).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from r4u_proxy.grouping.parts import grouping_text

WORDS = (
    "the of and to in is that for it as with was on be by this are from at or an have not they which "
    "one you had but all were when we there can been has more if will would their what so about out up "
    "them into some could time only other new these two may then do first any my now such like our over "
    "man me even most made after also did many before must through back years where much your way well "
    "down should because each just those people how too little state good very make world still own see "
    "men work long get here between both life being under never day same another know while last might "
    "great old year off come since against go came right used take three system report market customer "
    "account payment invoice order delivery product service quarter revenue growth team project budget "
    "policy claim shipment warehouse server database network release feature issue ticket contract "
    "meeting schedule deadline proposal analysis research model data training results price supplier"
).split()
NAMES = "Alice Bob Carol Dmitri Elena Farid Grace Hiroshi Ines Jamal Keiko Lars Maria Nikhil Olga Pedro".split()
COMPANIES = "Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Cyberdyne Soylent Tyrell".split()
LANGUAGES = "French German Spanish Italian Japanese Portuguese Dutch Korean Polish Turkish".split()
ENDINGS = [".", ".", "!", "?", "", "..."]


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def sentence(rng: random.Random, low: int = 5, high: int = 16) -> str:
    return words(rng, low, high).capitalize() + rng.choice(ENDINGS)


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def document(rng: random.Random, low_chars: int, high_chars: int) -> str:
    target = rng.randint(low_chars, high_chars)
    paragraphs: list[str] = []
    while sum(len(p) for p in paragraphs) < target:
        paragraphs.append(paragraph(rng, rng.randint(2, 6)))
    return "\n\n".join(paragraphs)


def question(rng: random.Random) -> str:
    opener = rng.choice(["What", "How", "Why", "When", "Which", "Who", "Can", "Does", "Is"])
    return f"{opener} {words(rng, 3, 12)}{rng.choice(['?', '?', '', ' ?'])}"


def diff(rng: random.Random) -> str:
    path = f"{rng.choice(['src', 'lib', 'app', 'tests'])}/{rng.choice(WORDS)}.py"
    lines = rng.choice([[], [f"diff --git a/{path} b/{path}"], [f"Index: {path}"]])
    lines += [f"--- a/{path}", f"+++ b/{path}"]
    for _ in range(rng.randint(1, 6)):
        start = rng.randint(1, 400)
        lines.append(f"@@ -{start},7 +{start},8 @@")
        for _ in range(rng.randint(3, 25)):
            name = "_".join(rng.choice(WORDS) for _ in range(2))
            code = rng.choice([f"{name} = {rng.randint(0, 99)}", f"return {name}(x)", f"if {name}:", "pass"])
            lines.append(rng.choice("+- ") + "    " + code)
    return "\n".join(lines)


def json_blob(rng: random.Random) -> str:
    fields = {rng.choice(WORDS) + str(i): rng.choice([words(rng, 1, 4), rng.randint(0, 9999), None]) for i in range(rng.randint(2, 30))}
    text = str(fields).replace("'", '"').replace("None", "null")
    text = rng.choice(["", "[", "  ", "{'x': 1}, "]) + text[:-1]
    return text + rng.choice([",}", "}", "", "]", ", 'y'"])


def schema(rng: random.Random) -> str:
    tables = []
    for _ in range(rng.randint(1, 5)):
        cols = ", ".join(f"{rng.choice(WORDS)}_{i} {rng.choice(['TEXT', 'INTEGER', 'REAL'])}" for i in range(rng.randint(2, 9)))
        tables.append(f"{rng.choice(['CREATE TABLE', 'create table'])} {rng.choice(WORDS)}s ({cols}){rng.choice([';', ''])}")
    return "\n".join(tables)


def transcript(rng: random.Random) -> str:
    return "\n".join(f"{rng.choice(NAMES)}: {sentence(rng, 3, 25)}" for _ in range(rng.randint(5, 60)))


def date(rng: random.Random) -> str:
    return f"{rng.randint(2019, 2027)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def code_name(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10)))


GEN: dict[str, Any] = {
    "context": lambda r: document(r, 300, 6000),
    "document": lambda r: document(r, 500, 8000),
    "article": lambda r: document(r, 400, 5000),
    "text": lambda r: document(r, 20, 2500),
    "short_text": lambda r: sentence(r, 3, 30),
    "question": question,
    "invoice": lambda r: document(r, 200, 1500),
    "email": lambda r: document(r, 100, 2000),
    "review": lambda r: sentence(r, 4, 40),
    "subject": lambda r: sentence(r, 2, 8),
    "body": lambda r: document(r, 50, 1200),
    "diff": diff,
    "language": lambda r: r.choice(LANGUAGES),
    "transcript": transcript,
    "date": date,
    "company": lambda r: r.choice(COMPANIES),
    "repo": code_name,
    "message": lambda r: sentence(r, 2, 40),
    "task": lambda r: paragraph(r, r.randint(1, 4)),
    "schema": schema,
    "sender": lambda r: r.choice(NAMES),
    "goal": lambda r: words(r, 3, 9),
    "product_name": lambda r: f"{r.choice(COMPANIES)} {code_name(r).capitalize()} {r.randint(1, 9000)}",
    "category": lambda r: r.choice(["kitchen", "garden", "outdoor gear", "toys", "office", "audio"]),
    "features": lambda r: ", ".join(words(r, 1, 3) for _ in range(r.randint(1, 5))),
    "tone": lambda r: r.choice(["playful", "premium", "technical", "friendly and warm"]),
    "json": json_blob,
    "post": lambda r: document(r, 300, 4000),
    "topic": lambda r: r.choice(["algebra", "chemistry", "world history", "Python", "music theory"]),
}

BOILERPLATE = "You are a helpful assistant."


@dataclass(frozen=True)
class Spec:
    name: str
    user: str
    system: str | None = None
    tools: tuple[str, ...] = ()
    provider: str = "openai"
    operation: str = "chat"
    weight: int = 1
    multi_turn: bool = False


SPECS = [
    Spec("rag_qa", "<context>\n{context}\n</context>\n\nQuestion: {question}",
         system="You answer questions using only the provided context. If the answer is not in the context, say you don't know."),
    Spec("rag_cite", "Use the document below to answer. Cite the paragraph numbers you used.\n\n<document>\n{document}\n</document>\n\nQuestion: {question}\nAnswer:",
         system=BOILERPLATE),
    Spec("extract_invoice", 'Extract these fields from the invoice as JSON with keys "vendor", "date", "total", "currency".\n\nInvoice text:\n{invoice}',
         system="You extract structured data from documents. Reply with JSON only."),
    Spec("extract_contact", "From the email below, extract the sender's name, company and phone number. Return a JSON object with keys name, company, phone. Use null for missing fields.\n\nEmail:\n{email}",
         provider="anthropic", operation="messages"),
    Spec("classify_sentiment", "Review: The battery lasts forever and the screen is gorgeous.\nSentiment: positive\n\nReview: It broke after two days and support never answered.\nSentiment: negative\n\nReview: It does what it says, nothing more.\nSentiment: neutral\n\nReview: {review}\nSentiment:",
         system="Classify the sentiment of customer reviews as positive, negative or neutral.", weight=3),
    Spec("classify_ticket", "Assign the support ticket to one of these queues: billing, technical, account, sales.\nRespond with the queue name only.\n\nTicket subject: {subject}\nTicket body: {body}", weight=2),
    Spec("code_review", "Review the following diff for bugs, security problems and style issues. List each finding with the file and line.\n\n```diff\n{diff}\n```",
         system="You are a senior software engineer doing code review. Be specific and kind.", provider="anthropic", operation="messages"),
    Spec("translate", "Translate the following text to {language}. Keep the formatting.\n\n{text}", weight=2),
    Spec("translate_formal", "Translate the following text to {language}. Use a formal register and keep the formatting.\n\n{text}"),
    Spec("summarize_bullets", "Summarize the article below in 3 bullet points for a busy executive.\n\nArticle:\n{article}", weight=2),
    Spec("summarize_paragraph", "Summarize the article below in one short paragraph for a busy executive.\n\nArticle:\n{article}"),
    Spec("summarize_meeting", "Here is the transcript of a meeting:\n\n{transcript}\n\nWrite the minutes: decisions, action items with owners, and open questions.",
         system="You are a meeting assistant."),
    Spec("agent_support", "{message}", tools=("lookup_order", "refund_order"), multi_turn=True, weight=2,
         system="You are the customer support agent of an online shop. You can look up orders and issue refunds. Always confirm the order number before acting. Today is {date}."),
    Spec("agent_travel", "{message}", tools=("search_flights", "book_hotel"), multi_turn=True,
         system="You are a travel planning agent for {company}. Plan trips within the traveller's budget and ask before booking anything."),
    Spec("agent_coding", "{task}", tools=("read_file", "write_file", "run_tests"), multi_turn=True, provider="anthropic", operation="messages",
         system="You are a coding agent working in the repository {repo}. Read the relevant files before changing them, keep changes small, and run the tests after every change. Explain what you did at the end."),
    Spec("sql_generation", "Given the database schema:\n{schema}\n\nWrite a SQLite query that answers: {question}\nReturn only the SQL."),
    Spec("email_reply", "Write a reply to this email from {sender}. The reply should {goal}.\n\nOriginal email:\n{email}",
         system="You write polite, concise email replies."),
    Spec("product_description", "Write a product description for an online shop.\nProduct name: {product_name}\nCategory: {category}\nKey features: {features}\nTone: {tone}"),
    Spec("blog_title", "Generate a short, catchy title for this blog post:\n\n{post}", system=BOILERPLATE),
    Spec("keywords", "List the ten most important keywords in the text below, comma separated.\n\n{text}", system=BOILERPLATE),
    Spec("json_repair", "The following JSON is invalid. Fix it and return only the corrected JSON.\n\n{json}"),
    Spec("support_bank", "Customer question: {question}",
         system="You are a support assistant for Acme Bank. Answer questions about checking accounts, cards and transfers. Never ask for a full card number."),
    Spec("support_insurance", "Customer question: {question}",
         system="You are a support assistant for Acme Insurance. Answer questions about home and car policies and claims. Never ask for a full card number."),
    Spec("grammar", "Correct the grammar and spelling of the text below. Do not change its meaning.\n\nText: {short_text}", weight=2),
    Spec("tutor_chat", "{message}", system="You are a patient tutor for {topic}. Ask one question at a time.", multi_turn=True),
]

_MARK = "\x01{}\x02"


@dataclass
class Sample:
    template: str  # the true template's name
    provider: str
    operation: str
    parts: dict[str, Any]
    values: dict[str, str] = field(default_factory=dict)


def _fill(text: str | None, values: dict[str, str]) -> str | None:
    return None if text is None else text.format(**values)


def _parts(spec: Spec, values: dict[str, str], turns_after: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "system": _fill(spec.system, values),
        "turns": [{"role": "user", "text": _fill(spec.user, values)}, *turns_after],
        "tools": list(spec.tools),
    }


def true_template(spec: Spec) -> tuple[tuple[str, ...], list[str]]:
    """The constants and variable names of the spec's grouping text (what a perfect miner finds)."""
    names = [n for _, n, _, _ in string.Formatter().parse((spec.system or "") + spec.user) if n]
    marked = grouping_text(_parts(spec, {n: _MARK.format(n) for n in names}, []))
    constants, found = [], []
    rest = marked
    while "\x01" in rest:
        head, tail = rest.split("\x01", 1)
        name, rest = tail.split("\x02", 1)
        constants.append(head)
        found.append(name)
    constants.append(rest)
    return tuple(constants), found


def generate(n: int = 2500, seed: int = 7) -> list[Sample]:
    rng = random.Random(seed)
    weighted = [spec for spec in SPECS for _ in range(spec.weight)]
    samples = []
    for _ in range(n):
        spec = rng.choice(weighted)
        names = {name for _, name, _, _ in string.Formatter().parse((spec.system or "") + spec.user) if name}
        values = {name: GEN[name](rng) for name in sorted(names)}
        later: list[dict[str, str]] = []
        if spec.multi_turn:
            for _ in range(rng.choice([0, 0, 1, 2, 4])):
                later += [{"role": "assistant", "text": sentence(rng)}, {"role": "user", "text": sentence(rng)}]
        samples.append(Sample(spec.name, spec.provider, spec.operation, _parts(spec, values, later), values))
    return samples
