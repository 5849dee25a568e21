"""Human words for stored values: evidence choices ("sso_managed" -> "SSO managed"), evidence date-times in
the reader's time zone. Pages and forms show these; the API and the database keep the values."""

from __future__ import annotations

import re
from datetime import datetime

from django.utils import formats, timezone

from tickets.models.choices import FieldKind

# Words that are not written in lower case: acronyms and brand names.
WORDS = {
    "sso": "SSO",
    "smb": "SMB",
    "sepa": "SEPA",
    "paypal": "PayPal",
    "api": "API",
    "vpn": "VPN",
    "ios": "iOS",
    "os": "OS",
    "url": "URL",
    "csv": "CSV",
    "pdf": "PDF",
    "mrr": "MRR",
    "2fa": "2FA",
    "id": "ID",
    "http": "HTTP",
    "har": "HAR",
    "ux": "UX",
}
# Whole values whose label is not their words.
VALUES = {
    "3ds_challenge": "3-D Secure challenge",
    "mid_market": "Mid-market",
    "two_factor": "Two-factor code",
    "one_time": "One time",
    "nice_to_have": "Nice to have",
}


def choice_label(value) -> str:
    """The label of a stored choice value: 'sepa_debit' -> 'SEPA debit', 'paypal' -> 'PayPal'."""
    text = str(value or "")
    if text in VALUES:
        return VALUES[text]
    words = [w for w in re.split(r"[_\s]+", text) if w]
    if not words:
        return ""
    shown = [WORDS.get(w.lower(), w.lower()) for w in words]
    first = shown[0]
    shown[0] = first if first != first.lower() else first[:1].upper() + first[1:]
    return " ".join(shown)


def datetime_label(value) -> str:
    """An ISO date-time (as stored in evidence) in the active time zone, like the rest of the page."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, 'j M Y H:i')} {local.tzname() or ''}".strip()


def evidence_label(kind: str, value) -> str:
    """One evidence value as a person reads it, by its field's kind."""
    if isinstance(value, dict) and {"amount", "currency"} <= value.keys():
        return f"{value['currency']} {value['amount']}"
    if kind == FieldKind.CHOICE:
        return choice_label(value)
    if kind == FieldKind.DATETIME:
        return datetime_label(value)
    return str(value)
