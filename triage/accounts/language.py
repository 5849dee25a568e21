"""What ticket text says about an account: churn or cancellation language, competitors, executives,
a champion leaving, interest in buying more. Pure functions over text (no database).

Each detector returns the phrases it found, so an alert can quote its evidence. A phrase does not count
when a negation stands shortly before it in the same clause ("we are *not* cancelling", "*no* plans to
leave", "would *never* switch away from you"); phrases that are negative by themselves ("will not renew",
"non-renewal") always count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NEGATIONS = frozenset(
    {"not", "no", "never", "nothing", "without", "nobody", "neither", "nor", "hardly", "cannot", "dont", "wont"}
)
NEGATION_WINDOW = 5  # words before a phrase that may negate it
_CLAUSE_BREAK = re.compile(r"[.!?;:,\n]|\bbut\b|\bhowever\b|\balthough\b", re.I)
_WORD = re.compile(r"[a-z']+")

_INTENT = r"(?:will|going to|want(?:s)? to|plan(?:ning)? to|thinking (?:about|of)|consider(?:ing)?|about to|" \
    r"decided to|threaten(?:ing|ed|s)? to|ready to|might|may|would|have to|intend(?:s)? to)"  # fmt: skip
_OURS = r"(?:you|planwise|your (?:product|platform|tool|service|app))"

CHURN_PHRASES = [
    rf"\bcancel\w*\s+(?:\w+\s+){{0,2}}?(?:subscriptions?|contracts?|plans?|accounts?|renewal|licen[cs]es?|seats|service|{_OURS})\b",
    rf"\b{_INTENT}\s+(?:\w+\s+)?cancel\w*",
    r"\bcancellation\s+(?:notice|request|letter|of\s+(?:our|the|their)\s+(?:subscription|contract|account))",
    r"\bterminat\w+\s+(?:\w+\s+){0,2}?(?:contract|subscription|agreement|account)s?\b",
    rf"\b(?:switch\w*|mov(?:e|es|ing)|migrat\w+)\s+(?:away\s+)?from\s+{_OURS}\b",
    rf"\b{_INTENT}\s+(?:move|switch|migrate|go)\s+(?:over\s+)?to\b",
    rf"\bleav\w+\s+{_OURS}\b",
    r"\b(?:look(?:ing)?|evaluat\w+|explor\w+|shopping)\s+(?:at\s+|for\s+|around\s+for\s+)?(?:other\s+)?"
    r"(?:alternatives|other (?:tools|vendors|options|providers|solutions))",
    r"\bchurn(?:ing|ed)?\b",
    r"\bend\s+(?:our|the)\s+(?:contract|subscription|relationship)\b",
    r"\bclose\s+(?:our|the|their)\s+account\b",
    r"\bdowngrad(?:e|ing)\b",
]
# Negative by themselves: a negation is what makes them churn language.
NEGATIVE_CHURN_PHRASES = [
    r"\b(?:not|won'?t|will not|no longer|don'?t plan to|do not plan to|do not intend to)\s+(?:be\s+)?renew\w*",
    r"\bnon-?renewal\b",
]
EXECUTIVE_TITLES = (
    r"\b(?:CEO|CFO|CTO|COO|CIO|CRO|CMO|CISO|VP|SVP|EVP|vice president|chief \w+ officer|head of \w+|"
    r"managing director|founder|president)\b"
)
COMPLAINT_WORDS = r"\b(?:unhappy|frustrat\w*|angry|furious|complain\w*|disappointed|unacceptable|escalat\w*|upset)\b"
CHAMPION_PHRASES = [
    r"\b(?:champion|main contact|primary contact|admin(?:istrator)?|sponsor|point of contact|power user)\s+"
    r"(?:has\s+|just\s+|recently\s+)?(?:left|quit|resigned|is leaving|moved on|departed)",
    r"\bleft the (?:company|business|organi[sz]ation)\b",
    r"\bno longer (?:with|at) (?:the company|them|us|their company)\b",
]
EXPANSION_PHRASES = [
    r"\b(?:more|additional|extra|another \d+)\s+(?:seats|licen[cs]es|users)\b",
    r"\bupgrad\w+\s+(?:to\s+)?(?:the\s+)?(?:enterprise|business|higher|bigger|premium)\b",
    r"\b(?:roll(?:ing)?\s+(?:it\s+)?out|expand\w*)\s+(?:it\s+)?to\s+(?:the\s+)?(?:rest of|other|another|more|all)\s+"
    r"(?:the\s+)?(?:teams?|departments?|offices?|regions?|company)",
    r"\badd(?:ing)?\s+(?:another|more|\d+)\s+(?:teams?|seats|users|licen[cs]es)\b",
]

_CHURN = [re.compile(p, re.I) for p in CHURN_PHRASES]
_NEGATIVE_CHURN = [re.compile(p, re.I) for p in NEGATIVE_CHURN_PHRASES]
_EXECUTIVE = re.compile(EXECUTIVE_TITLES, re.I)
_COMPLAINT = re.compile(COMPLAINT_WORDS, re.I)
_CHAMPION = [re.compile(p, re.I) for p in CHAMPION_PHRASES]
_EXPANSION = [re.compile(p, re.I) for p in EXPANSION_PHRASES]


# Cheap first looks: a text without any of these stems cannot hold the phrases (most tickets, on the hot path).
_CHURN_HINT = re.compile(r"cancel|renew|alternativ|switch|leav|churn|terminat|downgrad|mov|migrat|go to|"
                         r"go over|close|end (?:our|the)|other (?:tools|vendors|options|providers|solutions)", re.I)
_CHAMPION_HINT = re.compile(r"left|quit|resign|leaving|moved on|departed|no longer", re.I)
_EXPANSION_HINT = re.compile(r"seat|licen|users|upgrad|roll|expand|add", re.I)  # fmt: skip


def _negated(text: str, start: int) -> bool:
    """True when a negation stands within a few words before `start`, in the same clause."""
    before = text[max(0, start - 80) : start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end() :]
    words = _WORD.findall(before.lower())[-NEGATION_WINDOW:]
    return any(w in NEGATIONS or w.endswith("n't") for w in words)


def _found(patterns, text: str, *, negatable: bool = True) -> list[str]:
    phrases = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            if negatable and _negated(text, match.start()):
                continue
            phrases.append(match.group(0).strip())
    return phrases


def churn_language(text: str) -> list[str]:
    """Churn or cancellation phrases in `text` that are not negated, in the order of the patterns."""
    text = text or ""
    if not _CHURN_HINT.search(text):
        return []
    return _found(_NEGATIVE_CHURN, text, negatable=False) + _found(_CHURN, text)


def competitors_mentioned(text: str, competitors: Iterable[str]) -> list[str]:
    """The configured competitors named in `text` (whole words, any case), as configured."""
    text = text or ""
    return [name for name in competitors if re.search(rf"(?<!\w){re.escape(name.strip())}(?!\w)", text, re.I)]


def executive_complaint(text: str) -> list[str]:
    """Executives named in a complaint: an executive title and a complaint word in the same text."""
    text = text or ""
    titles = [m.group(0) for m in _EXECUTIVE.finditer(text)]
    if titles and _COMPLAINT.search(text):
        return titles
    return []


def champion_departure(text: str) -> list[str]:
    text = text or ""
    return _found(_CHAMPION, text) if _CHAMPION_HINT.search(text) else []


def expansion_interest(text: str) -> list[str]:
    text = text or ""
    return _found(_EXPANSION, text) if _EXPANSION_HINT.search(text) else []


def excerpt(text: str, phrase: str, width: int = 90) -> str:
    """A short piece of `text` around `phrase`, for an alert's evidence."""
    text = " ".join((text or "").split())
    at = text.lower().find(phrase.lower())
    if at < 0:
        return text[: 2 * width]
    start, end = max(0, at - width), min(len(text), at + len(phrase) + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
