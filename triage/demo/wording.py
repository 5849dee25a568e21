"""Turn phrasing templates into varied natural text: synonyms, slots, detail levels and typos.

A template is plain text with `{slot}` markers. A slot is either a synonym set
(`{cannot}` becomes "can't", "cannot", "is unable to", ...) or a value the
caller passes for one ticket (`{browser}`, `{code}`). Templates are compiled
once into pieces, so expanding one costs a join, which keeps a million
tickets fast.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence

SYNONYMS: dict[str, list[str]] = {
    "cannot": ["can't", "cannot", "is unable to", "cant", "is not able to", "can not"],
    "cannot_we": ["can't", "cannot", "are unable to", "cant", "are not able to"],
    "login": ["log in", "sign in", "login", "log into Planwise", "get into their account", "sign into the app"],
    "logged_out": ["logged out", "signed out", "kicked out", "booted out", "logged off"],
    "error": ["error", "error message", "an error", "err msg", "error popup"],
    "broken": ["broken", "not working", "failing", "busted", "doesn't work", "not working properly"],
    "slow": ["slow", "very slow", "painfully slow", "extremely slow", "sluggish", "super slow"],
    "customer": ["Customer", "The customer", "Cust", "User", "Client", "Their admin", "The account owner"],
    "says": ["says", "reports", "tells us", "mentions", "is saying", "wrote in that", "reported that"],
    "since": [
        "since this morning",
        "since yesterday",
        "for two days now",
        "since the last update",
        "since Monday",
        "on and off this week",
        "since earlier today",
        "for about a week",
    ],
    "tried": [
        "cleared cache and cookies",
        "tried incognito",
        "tried a different browser",
        "restarted the app",
        "logged out and back in",
        "tried on another laptop",
    ],
    "still": ["still", "and it still", "same result, it still", "no luck, it still"],
    "urgent": ["This is blocking them.", "They need this fixed asap.", "Pretty urgent for them.", "", "", ""],
    "payment": ["payment", "charge", "card payment", "transaction"],
    "declined": ["declined", "rejected", "failing", "refused", "bouncing"],
    "page": ["page", "screen", "view"],
    "loads": ["takes", "takes about", "needs", "takes around"],
    "many": ["several", "many", "a lot of", "multiple", "most of their"],
    "users": ["users", "team members", "people on their team", "seats", "employees"],
}

OPENERS = [
    "",
    "",
    "",
    "Hi team, ",
    "Hello, ",
    "Customer wrote in: ",
    "Escalating this one. ",
    "FYI ",
    "Hey product, ",
    "Another one: ",
]
SUBJECT_PREFIXES = ["", "", "", "", "", "", "Re: ", "URGENT: ", "Fwd: ", "Help: "]
CLOSERS = [
    "",
    "",
    "",
    " Thanks!",
    " Can someone take a look?",
    " Let me know if you need more info.",
    " Customer is waiting on an update.",
    " Happy to hop on a call with them.",
]

_SLOT = re.compile(r"\{(\w+)\}")


class Template:
    """A compiled phrasing: alternating literal text and slot names."""

    __slots__ = ("pieces",)

    def __init__(self, text: str):
        parts = _SLOT.split(text)
        self.pieces = [(i % 2 == 1, part) for i, part in enumerate(parts) if part or i % 2 == 1]

    def render(self, rng: random.Random, values: Mapping[str, str]) -> str:
        out = []
        for is_slot, part in self.pieces:
            if not is_slot:
                out.append(part)
            elif part in values:
                out.append(values[part])
            else:
                out.append(rng.choice(SYNONYMS[part]))
        return "".join(out)


def compile_all(texts: Sequence[str]) -> list[Template]:
    templates = [Template(t) for t in texts]
    for template in templates:
        for is_slot, name in template.pieces:
            if is_slot and name not in SYNONYMS and name not in KNOWN_VALUE_SLOTS:
                raise ValueError(f"unknown slot {{{name}}} in demo template")
    return templates


# Slots filled per ticket by the generators (see triage.demo.tickets).
KNOWN_VALUE_SLOTS = {
    "browser",
    "os",
    "code",
    "http",
    "exception",
    "amount",
    "area",
    "seconds",
    "plan",
    "n",
    "company",
    "competitor",
    "month",
    "message",
    "page_action",
    "method",
    "detail",
    "thing",
    "action",
    "oddity",
}


def add_typos(rng: random.Random, text: str, count: int = 1) -> str:
    """Misspell `count` longer words the way fast typists do (swap, drop or double a letter)."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    for _ in range(min(count, len(candidates))):
        i = rng.choice(candidates)
        w = words[i]
        if len(w) < 5:  # already shortened by an earlier typo
            continue
        j = rng.randrange(1, len(w) - 2)
        kind = rng.random()
        if kind < 0.4:
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        elif kind < 0.7:
            w = w[:j] + w[j + 1 :]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)


def style_subject(rng: random.Random, subject: str) -> str:
    """Vary a subject line the way a busy help desk does: prefixes, lower case, a typo, no capital."""
    roll = rng.random()
    if roll < 0.12:
        subject = subject.lower()
    elif roll < 0.18:
        subject = add_typos(rng, subject)
    elif roll < 0.22:
        subject = subject.rstrip(".!") + "!!"
    subject = rng.choice(SUBJECT_PREFIXES) + subject
    return subject[:1].upper() + subject[1:] if rng.random() < 0.85 else subject


def compose_description(
    rng: random.Random,
    *,
    body: str,
    context: str = "",
    technical: Sequence[str] = (),
    steps: str = "",
) -> str:
    """Join a symptom with more or less detail: one line, a paragraph, or a full write-up."""
    level = rng.random()
    text = rng.choice(OPENERS) + body
    if level > 0.25 and context:
        text += " " + context
    if level > 0.55 and technical:
        text += "\n\n" + "\n".join(technical)
    if level > 0.8 and steps:
        text += "\n\nSteps:\n" + steps
    closer = rng.choice(CLOSERS)
    text += ("\n\n" + closer.strip()) if closer and "\n" in text else closer
    if rng.random() < 0.1:
        text = add_typos(rng, text, count=rng.randint(1, 3))
    return text.strip()
