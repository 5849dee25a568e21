"""What the engine reads from a ticket: weighted word stems, fingerprints and evidence values.

Pure functions, no database: the same extraction serves filing (the "Known bugs" panel reads an
unsaved form), assignment and the replay of real reports in `evaluate_clustering`.

* Terms: subject and description (and free-text evidence such as the error message) lower-cased,
  identifiers split (``NullPointerException`` also gives ``null pointer exception``), English stop
  words dropped, Snowball-stemmed. The subject weighs more than the description (field weighting).
* Fingerprints: error codes, HTTP statuses, exception names, the top frames of a stack trace, the
  error message normalised (ids, numbers, hex, UUIDs, e-mails stripped; URLs reduced to their path
  pattern) and URL path patterns. Each carries the words that explain a match ("same error code 4001").
* Evidence values: short values of structured evidence (type, component, payment method, browser,
  OS...) that make two tickets likelier to be the same bug.
* Template lines: each description line's key, and each chunk's of a long line (`line_keys`), so the
  lines and passages that many tickets share (a help desk's form, an e-mail signature, a bug tracker's
  template, the framework frames under every stack trace) can be told apart: `extract` leaves the ones
  it is given as template out of the words and URL paths, since they say nothing about the bug.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import snowballstemmer

SUBJECT_WEIGHT = 3.0
DESCRIPTION_WEIGHT = 1.0
MAX_TERMS = 80  # the heaviest terms of a ticket are kept; long logs add noise, not evidence
MAX_TEXT = 20_000  # characters of description read
LINE_PREFIX = "l:"  # a description line's key (its text normalised, hashed), counted in the term statistics
LINE_MAX_CHARS = 200  # a longer line is cut in chunks of about CHUNK_EVERY words (`segments`)...
CHUNK_EVERY, CHUNK_MIN, CHUNK_MAX = 8, 4, 32  # ...each of CHUNK_MIN to CHUNK_MAX words
LINES_MAX = 120  # keyed lines and chunks of one description (the first ones)

# Evidence that is free text: read as words (description field).
TEXT_EVIDENCE_KEYS = frozenset(
    {"error_message", "steps_to_reproduce", "expected_behavior", "actual_behavior", "customer_words", "page_action"}
    | {"use_case", "customer_tried", "stuck_at", "missing", "quote", "context", "doc_or_search", "page_or_flow"}
)
# Evidence that says nothing about which bug it is.
IGNORED_EVIDENCE_KEYS = frozenset(
    {
        "amount",
        "transaction_id",
        "user_agent",
        "last_successful_login",
        "load_time_seconds",
        "browser_version",
        "screenshot",
        "har_file",
        "customer_segment",
        "revenue_impact",
        "need_frequency",
        "workaround_difficulty",
        "frequency",
        # Who is asking and how they feel, not what the problem is (feedback kinds' evidence).
        "csat",
        "churn_risk",
        "expansion_blocker",
        "may_we_use_it",
        "deal_stage",
        "risk_indicator",
    }
)
EVIDENCE_LABELS = {
    "type": "type",
    "component": "component",
    "product": "product",
    "payment_method": "payment method",
    "checkout_step": "checkout step",
    "browser": "browser",
    "os": "OS",
    "device": "device",
    "login_method": "sign-in method",
    "account_status": "account status",
    "network_conditions": "network",
    "region": "region",
    "page_action": "page",
}

_STOPWORDS_TEXT = """
a about above after again against all also am an and any are aren as at be because been before being below
between both but by can cannot could couldn did didn do does doesn doing don down during each else even ever
every few for from further get gets getting got had hadn has hasn have haven having he her here hers herself him
himself his how however i if in into is isn it its itself just let like ll me might more most much must mustn my
myself need no nor not now of off on once one only or other ought our ours ourselves out over own per please re
same shall she should shouldn so some such than that the their theirs them themselves then there these they this
those though through thus to too under until up upon us ve very via was wasn way we well were weren what when
where whether which while who whom why will with within without won would wouldn yes yet you your yours yourself
yourselves hi hello thanks thank regards dear customer customers user users team issue problem still also able
try tried trying see seen seems seem use used using want wants wanted
"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_IDENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*|\d+(?:\.\d+)*")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_HEX_RE = re.compile(r"\b(?:0x[0-9a-f]+|[0-9a-f]{8,})\b", re.I)
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_URL_RE = re.compile(r"\bhttps?://[^\s\"'<>()]+", re.I)
_NUMBER_RE = re.compile(r"\d+")
_SPACE_RE = re.compile(r"\s+")

# "error 4001", "error code: E-4001", "code 4001", "ERR_CARD_DECLINED", "E4001", "PAY-4001"
_CODE_CONTEXT_RE = re.compile(
    r"\b(?:error|err|code|errno|reason)(?:\s*code)?\s*[#:=]?\s*([A-Z]{0,4}[-_]?\d{3,6})\b", re.I
)
_CODE_TOKEN_RE = re.compile(r"\b((?:ERR|E|ERROR)[-_]?\d{3,6}|[A-Z]{2,6}-\d{3,6}|ERR_[A-Z][A-Z0-9_]{3,})\b")
_HTTP_RE = re.compile(
    r"\b(?:HTTP(?:/\d(?:\.\d)?)?|status(?: code)?|response)\s*[:=]?\s*([45]\d\d)\b"
    r"|\b([45]\d\d)\s+(?:error|internal server error|bad gateway|service unavailable|gateway time-?out|not found"
    r"|forbidden|unauthori[sz]ed|bad request|too many requests|conflict)\b",
    re.I,
)
_EXCEPTION_RE = re.compile(r"\b((?:[a-z_][\w]*\.)*[A-Z][A-Za-z0-9_]*(?:Exception|Error|Fault))\b")
_JAVA_FRAME_RE = re.compile(r"\bat\s+([\w$]+(?:\.[\w$<>]+){2,})\s*\(")
_PY_FRAME_RE = re.compile(r'File "([^"]+)", line \d+, in ([\w<>]+)')
_GENERIC_EXCEPTIONS = frozenset({"Error", "Exception", "RuntimeError", "RuntimeException", "Fault"})
_LIBRARY_FRAME_PREFIXES = ("java.", "javax.", "sun.", "jdk.", "org.junit.", "com.sun.", "kotlin.", "node:", "internal/")


@dataclass
class Features:
    """A ticket as the engine sees it. `terms` are word stems with their field-weighted frequency."""

    terms: dict[str, float] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)  # key -> the words that explain a match
    evidence: dict[str, str] = field(default_factory=dict)  # "key=value" -> the words that explain a match
    length: float = 0.0
    subject: list[str] = field(default_factory=list)  # the subject's stems, for title-to-title similarity
    lines: list[str] = field(default_factory=list)  # keys of the description's lines (`line_keys`)
    template: list[str] = field(default_factory=list)  # ...of those, the ones left out as a template's

    def as_json(self) -> dict[str, Any]:
        data = {"t": self.terms, "f": self.fingerprints, "e": self.evidence, "n": self.length, "s": self.subject}
        if self.lines:
            data["l"] = self.lines
        if self.template:
            data["b"] = self.template
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Features:
        data = data or {}
        return cls(
            terms=dict(data.get("t") or {}),
            fingerprints=dict(data.get("f") or {}),
            evidence=dict(data.get("e") or {}),
            length=float(data.get("n") or 0.0),
            subject=list(data.get("s") or []),
            lines=list(data.get("l") or []),
            template=list(data.get("b") or []),
        )

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.fingerprints)


_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def words(text: str) -> list[str]:
    """Word stems of `text`: identifiers split into their parts, stop words and bare numbers dropped."""
    out: list[str] = []
    for token in _IDENT_RE.findall(text or ""):
        if token[0].isdigit():
            continue  # numbers and versions are fingerprints or noise, not words
        parts = token.split(".")
        if len(parts) > 2:  # a qualified name: keep its last two parts (class and method)
            parts = parts[-2:]
        for part in parts:
            pieces = _CAMEL_RE.findall(part)
            lowered = part.lower()
            if len(pieces) > 1 and len(lowered) > 3:
                out.append(lowered)  # the identifier whole, then its pieces
            for piece in pieces:
                piece = piece.lower()
                if len(piece) < 2 or piece.isdigit() or piece in _STOPWORDS:
                    continue
                out.append(piece)
    return [_stem(w) for w in out if w not in _STOPWORDS]


def normalise_message(text: str) -> str:
    """An error message with what differs between occurrences taken out: ids, numbers, hex, e-mails, URLs."""
    text = _URL_RE.sub(lambda m: url_pattern(m.group(0)), text or "")
    text = _UUID_RE.sub("<id>", text)
    text = _EMAIL_RE.sub("<email>", text)
    text = _HEX_RE.sub("<hex>", text)
    text = _NUMBER_RE.sub("<n>", text)
    text = re.sub(r"(['\"]).*?\1", "<value>", text)
    return _SPACE_RE.sub(" ", text).strip().lower().rstrip(".!")


def url_pattern(url: str) -> str:
    """A URL reduced to its path pattern: host and query dropped, ids replaced (`/orders/:id/pay`)."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url, flags=re.I).split("?")[0].split("#")[0]
    segments = []
    for segment in path.strip("/").split("/"):
        if not segment:
            continue
        if _UUID_RE.fullmatch(segment) or re.fullmatch(r"[0-9a-f]{8,}|\d+|[A-Za-z]*\d[\w-]{5,}", segment, re.I):
            segment = ":id"
        segments.append(segment.lower())
    return "/" + "/".join(segments)


def fingerprints(text: str, evidence: dict[str, Any]) -> dict[str, str]:
    """Fingerprints of `text` and `evidence`, each with the words that explain a shared one."""
    found: dict[str, str] = {}
    code = str(evidence.get("error_code") or "").strip()
    if code:
        found[f"code:{code.lower()}"] = f"same error code {code}"
    for match in _CODE_CONTEXT_RE.finditer(text):
        value = match.group(1)
        if not re.fullmatch(r"[1-5]\d\d", value):  # "error 500" is an HTTP status, read below
            found.setdefault(f"code:{value.lower()}", f"same error code {value}")
    for match in _CODE_TOKEN_RE.finditer(text):
        found.setdefault(f"code:{match.group(1).lower()}", f"same error code {match.group(1)}")
    for match in _HTTP_RE.finditer(text):
        status = match.group(1) or match.group(2)
        found.setdefault(f"http:{status}", f"same HTTP status {status}")
    for match in _EXCEPTION_RE.finditer(text):
        name = match.group(1).rsplit(".", 1)[-1]
        if name not in _GENERIC_EXCEPTIONS:
            found.setdefault(f"exc:{name.lower()}", f"same exception {name}")
    frames = [m.group(1) for m in _JAVA_FRAME_RE.finditer(text)]
    # Python tracebacks list the innermost frame last.
    frames += [f"{m.group(1).rsplit('/', 1)[-1]}:{m.group(2)}" for m in reversed(list(_PY_FRAME_RE.finditer(text)))]
    own = [f for f in frames if not f.startswith(_LIBRARY_FRAME_PREFIXES)]
    for frame in own[:2]:
        short = ".".join(frame.split(".")[-2:])
        found.setdefault(f"frame:{frame.lower()}", f"same top stack frame {short}")
    for url in _URL_RE.findall(text):
        pattern = url_pattern(url)
        if pattern.count("/") >= 2:
            found.setdefault(f"url:{pattern}", f"same URL path {pattern}")
    message = str(evidence.get("error_message") or "").strip()
    if message:
        normal = normalise_message(message)
        if len(normal) >= 6:
            digest = hashlib.sha1(normal.encode()).hexdigest()[:16]
            shown = normal if len(normal) <= 60 else normal[:57] + "..."
            found[f"msg:{digest}"] = f'same error message "{shown}"'
    return found


_FINGERPRINT_LABELS = {
    "code": "same error code {}",
    "http": "same HTTP status {}",
    "exc": "same exception {}",
    "frame": "same top stack frame {}",
    "url": "same URL path {}",
}


def fingerprint_label(key: str) -> str:
    """The words for a stored fingerprint key (a normalised message is kept only as a digest)."""
    kind, _, value = key.partition(":")
    if kind == "msg":
        return "same error message"
    if kind == "frame":
        value = ".".join(value.split(".")[-2:])
    return _FINGERPRINT_LABELS.get(kind, "same {}").format(value)


_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def _scrub(text: str) -> str:
    return _UNSTORABLE_RE.sub("", text) if not text.isascii() or "\x00" in text else text


_LINE_MARKS = " \t>*-#|+•"
_LINE_WORD_RE = re.compile(r"[^\W\d_]{2}")
_LINE_DIGITS_RE = re.compile(r"\S*\d\S*")


def line_key(line: str) -> str | None:
    """A line's key: its text lower-cased, quote and list marks stripped, anything with a digit (versions,
    ids, dates, numbers) made one placeholder, hashed. None for a line without a word or too long to be
    one line of a template (`segments` cuts those in chunks)."""
    text = line.strip().lstrip(_LINE_MARKS).strip().lower()
    if not text or len(text) > LINE_MAX_CHARS or not _LINE_WORD_RE.search(text):
        return None
    text = _SPACE_RE.sub(" ", _LINE_DIGITS_RE.sub("#", text))
    return LINE_PREFIX + hashlib.sha1(text.encode()).hexdigest()[:12]


def _chunk_boundary(token: str) -> bool:
    """Does a chunk end after this word? Decided by the word alone (versions and ids alike)."""
    return zlib.crc32(_LINE_DIGITS_RE.sub("#", token.lower()).encode()) % CHUNK_EVERY == 0


def segments(description: str) -> list[list[tuple[str | None, str]]]:
    """A description's lines, each as its segments' (key, text): a line of up to LINE_MAX_CHARS is one
    segment; a longer one (a paragraph, a stack trace or a whole report on one line) is cut into chunks of
    about CHUNK_EVERY words after words that choose it (content-defined chunking), so the same passage gives
    the same chunks wherever it stands."""
    out = []
    for line in _scrub(description or "")[:MAX_TEXT].splitlines():
        if len(line.strip()) <= LINE_MAX_CHARS:
            out.append([(line_key(line), line)])
            continue
        chunks, current = [], []
        for token in line.split():
            current.append(token)
            if len(current) >= CHUNK_MAX or (len(current) >= CHUNK_MIN and _chunk_boundary(token)):
                chunks.append(" ".join(current))
                current = []
        if current:
            chunks.append(" ".join(current))
        out.append([(line_key(chunk), chunk) for chunk in chunks])
    return out


def line_keys(description: str) -> list[str]:
    """The distinct keys of a description's lines and chunks (`segments`), in order (the first LINES_MAX).

    None for a description of one segment: it has nothing to leave out (see `extract`), and one-line
    tickets, the most common, cost the statistics nothing.
    """
    keys: dict[str, None] = {}
    for line in segments(description):
        for key, _ in line:
            if key is not None:
                keys[key] = None
                if len(keys) >= LINES_MAX:
                    return list(keys)
    return list(keys) if len(keys) > 1 else []


def without_template(description: str, template: frozenset[str] | set[str]) -> str:
    """The description without the lines and chunks whose key is in `template`."""
    if not template or not description:
        return description or ""
    kept = []
    for line in segments(description):
        texts = [text for key, text in line if key not in template]
        if texts:
            kept.append(" ".join(texts))
    return "\n".join(kept)


def _evidence_value(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > 60:
        return None
    return text


def extract(
    *,
    subject: str,
    description: str = "",
    evidence: dict[str, Any] | None = None,
    ticket_type_key: str | None = None,
    ticket_type_name: str | None = None,
    template: frozenset[str] | set[str] = frozenset(),
) -> Features:
    """Read a ticket (saved or not) the way the engine compares tickets.

    Description lines whose key is in `template` (lines many tickets share, see `index.template_lines`)
    count neither as words nor as URL paths, unless nothing else of the description would be left ("Can't
    log in" is what many tickets say, and all this one says); the other fingerprints are read from the
    whole text.
    Text that cannot be stored or sent to the database (NUL, lone surrogates: a form still being typed
    asks for known bugs before it is validated) is dropped from what is read.
    """
    subject = _scrub(subject or "")
    evidence = {_scrub(str(k)): _scrub(v) if isinstance(v, str) else v for k, v in (evidence or {}).items()}
    description = _scrub(description or "")[:MAX_TEXT]
    lines = line_keys(description)
    dropped = [key for key in lines if key in template]
    whole = description
    if dropped:
        description = without_template(description, frozenset(dropped))
        if not words(description):  # nothing of its own but lines others wrote too: those are what it says
            description, dropped = whole, []
    extra_text = " ".join(str(evidence[k]) for k in sorted(TEXT_EVIDENCE_KEYS) if evidence.get(k))
    body = f"{description}\n{extra_text}" if extra_text else description

    subject_words = words(subject)
    subject_counts = Counter(subject_words)
    body_counts = Counter(words(body))
    terms: dict[str, float] = {}
    for term in sorted(subject_counts.keys() | body_counts.keys()):  # in one order whatever the process
        weight = 0.0
        if subject_counts[term]:
            weight += SUBJECT_WEIGHT
        if body_counts[term]:
            weight += DESCRIPTION_WEIGHT * (1.0 + math.log(body_counts[term]))
        terms[term] = round(weight, 3)
    if len(terms) > MAX_TERMS:
        terms = dict(sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS])

    prints = fingerprints(f"{subject}\n{body}", evidence)
    if dropped:  # an error code or a stack frame in a template's line still counts; its URLs do not
        for key, label in fingerprints(f"{subject}\n{whole}\n{extra_text}", evidence).items():
            if not key.startswith("url:"):
                prints.setdefault(key, label)

    values: dict[str, str] = {}
    if ticket_type_key:
        values[f"type={ticket_type_key}"] = f"same type {ticket_type_name or ticket_type_key}"
    for key, raw in sorted(evidence.items()):
        if key in IGNORED_EVIDENCE_KEYS or key in TEXT_EVIDENCE_KEYS or key == "error_code" or key.endswith("_id"):
            continue
        value = _evidence_value(raw)
        if value is None:
            continue
        if key == "browser":
            value = re.split(r"[\s/]+\d", value)[0]  # "Chrome 120" and "Chrome 121" are the same browser
        label = EVIDENCE_LABELS.get(key, key.replace("_", " "))
        values[f"{key}={value.lower()}"] = f"same {label} {value}"
    return Features(
        terms=terms,
        fingerprints=prints,
        evidence=values,
        length=round(sum(terms.values()), 3),
        subject=sorted(set(subject_words)),
        lines=lines,
        template=dropped,
    )
