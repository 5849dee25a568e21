"""Validate and normalise a ticket's evidence against its type's evidence fields.

Used by every way a ticket comes in (form, API, import), so a value accepted in
one is accepted in all. Errors are keyed `evidence.<field key>` and say what is
allowed, so the form can show them next to the field and the API can return them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets.models import EvidenceField, FieldKind, Requirement

TEXT_MAX = 1_000
LONG_TEXT_MAX = 20_000
NUMBER_MAX = Decimal("1e12")  # evidence numbers are measurements and counts: finite, 0 or more, below this
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # no help desk reported a ticket before this
# PostgreSQL refuses NUL in text and JSON, and a lone UTF-16 surrogate cannot be encoded at all.
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")
_MONEY_RE = re.compile(r"^\s*(?:([A-Za-z]{3})\s*)?([-+]?\d+(?:[.,]\d{1,2})?)\s*(?:([A-Za-z]{3}))?\s*$")


@dataclass(frozen=True)
class EvidenceResult:
    values: dict[str, Any]
    completeness: float
    missing_recommended: list[str]


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == {}


def evidence_validate(*, fields: Iterable[EvidenceField], values: Mapping[str, Any] | None) -> EvidenceResult:
    """Return the cleaned evidence, or raise ValidationError keyed `evidence.<key>`."""
    fields = list(fields)
    values = dict(values or {})
    if not isinstance(values, dict):
        raise ValidationError({"evidence": "Evidence must be an object of field key to value."})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    known = {f.key for f in fields}

    for key in sorted(set(values) - known):
        allowed = ", ".join(sorted(known)) or "none"
        errors[f"evidence.{key}"] = [f"Unknown evidence field '{key}'; this ticket type accepts: {allowed}."]

    # One pass: clean each value and count what completeness needs (this runs for every ticket of a
    # 1,000-ticket bulk request, so it avoids walking the fields four times).
    counted = given = 0
    missing: list[str] = []
    for field in fields:
        key, requirement = field.key, field.requirement
        is_counted = requirement == Requirement.REQUIRED or requirement == Requirement.RECOMMENDED
        counted += is_counted
        raw = values.get(key)
        if is_blank(raw):
            if requirement == Requirement.REQUIRED:
                hint = f" {field.help_text}" if field.help_text else ""
                errors[f"evidence.{key}"] = [f"{field.label} is required.{hint}"]
            elif requirement == Requirement.RECOMMENDED:
                missing.append(key)
            continue
        problem = unstorable(raw)
        if problem:
            errors[f"evidence.{key}"] = [f"{field.label} {problem}"]
            continue
        try:
            cleaned[key] = clean_value(field, raw)
        except ValidationError as exc:
            errors[f"evidence.{key}"] = list(exc.messages)
            continue
        given += is_counted

    if errors:
        raise ValidationError(errors)

    completeness = round(given / counted, 3) if counted else 1.0
    return EvidenceResult(values=cleaned, completeness=completeness, missing_recommended=missing)


def unstorable(value: Any) -> str:
    """Why a value (text, or text inside a list or object) cannot be stored, or "" when it can."""
    if isinstance(value, str):
        found = _UNSTORABLE_RE.search(value)
        if found is None:
            return ""
        if found.group() == "\x00":
            return "contains a NUL character (\\u0000), which cannot be stored; remove it."
        return "contains a lone UTF-16 surrogate (such as \\ud800), which is not text; send valid Unicode."
    if isinstance(value, dict):
        return next(filter(None, (unstorable(k) or unstorable(v) for k, v in value.items())), "")
    if isinstance(value, list):
        return next(filter(None, map(unstorable, value)), "")
    return ""


def evidence_completeness(*, fields: Iterable[EvidenceField], values: Mapping[str, Any]) -> float:
    """Share of required and recommended fields with a value, without validating them."""
    counted = [f for f in fields if f.requirement in (Requirement.REQUIRED, Requirement.RECOMMENDED)]
    if not counted:
        return 1.0
    return round(sum(1 for f in counted if not is_blank(values.get(f.key))) / len(counted), 3)


def clean_value(field: EvidenceField, raw: Any) -> Any:
    """Normalise one value of `field`, or raise ValidationError saying what is allowed."""
    cleaner = _CLEANERS[field.kind]
    return cleaner(field, raw)


def _clean_text(field: EvidenceField, raw: Any, limit: int = TEXT_MAX) -> str:
    if isinstance(raw, (dict, list)):
        raise ValidationError(f"{field.label} must be text, not a {type(raw).__name__}.")
    value = str(raw).strip()
    if len(value) > limit:
        raise ValidationError(f"{field.label} must be at most {limit} characters (got {len(value)}).")
    return value


def _clean_long_text(field: EvidenceField, raw: Any) -> str:
    return _clean_text(field, raw, LONG_TEXT_MAX)


def _clean_choice(field: EvidenceField, raw: Any) -> str:
    value = str(raw).strip()
    for choice in field.choices:
        if value.lower() == str(choice).lower():
            return choice
    raise ValidationError(
        f"'{value}' is not a valid choice for {field.label}; choose one of: {', '.join(map(str, field.choices))}."
    )


def _clean_number(field: EvidenceField, raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise ValidationError(f"{field.label} must be a number, not true/false.")
    try:
        number = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(f"{field.label} must be a number (for example 42 or 3.5); got '{raw}'.") from None
    if not number.is_finite():
        raise ValidationError(f"{field.label} must be a finite number (for example 42 or 3.5); got '{raw}'.")
    if number < 0:
        raise ValidationError(f"{field.label} must be 0 or more; got {raw}.")
    if number >= NUMBER_MAX:
        raise ValidationError(f"{field.label} must be below {NUMBER_MAX:,.0f}; got {raw}.")
    return int(number) if number == number.to_integral_value() else float(number)


def _clean_money(field: EvidenceField, raw: Any) -> dict[str, str]:
    currency = settings_default_currency()
    if isinstance(raw, Mapping):
        amount_raw, currency = raw.get("amount"), str(raw.get("currency") or currency)
    else:
        match = _MONEY_RE.match(str(raw))
        if not match:
            raise ValidationError(f"{field.label} must be an amount such as 49.99 or 'EUR 49.99'; got '{raw}'.")
        amount_raw = match.group(2).replace(",", ".")
        currency = match.group(1) or match.group(3) or currency
    try:
        exact = Decimal(str(amount_raw).strip())
    except (InvalidOperation, TypeError):
        raise ValidationError(f"{field.label} must have a numeric amount such as 49.99; got '{amount_raw}'.") from None
    if not exact.is_finite() or abs(exact) >= NUMBER_MAX:
        raise ValidationError(
            f"{field.label} must have a finite amount below {NUMBER_MAX:,.0f} such as 49.99; got '{amount_raw}'."
        )
    if exact < 0:
        raise ValidationError(f"{field.label} cannot be negative; got {amount_raw}.")
    amount = exact.quantize(Decimal("0.01")) + 0  # + 0 turns -0.00 into 0.00
    if not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise ValidationError(f"{field.label} currency must be a 3-letter ISO code such as USD; got '{currency}'.")
    return {"amount": str(amount), "currency": currency.upper()}


def _clean_datetime(field: EvidenceField, raw: Any) -> str:
    expected = f"{field.label} must be a date and time such as 2026-11-02T14:30 or 2026-11-02T14:30:00Z; got '{raw}'."
    try:
        value = raw if isinstance(raw, datetime) else parse_datetime(str(raw).strip())
    except ValueError:  # well formed but impossible, such as 2026-02-30 or month 13
        raise ValidationError(f"{field.label} is not a real date and time; got '{raw}'.") from None
    if value is None:
        raise ValidationError(expected)
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.get_current_timezone())
        in_range = value.astimezone(UTC) >= EARLIEST
    except (OverflowError, ValueError):
        in_range = False
    if not in_range:
        raise ValidationError(f"{field.label} must be after {EARLIEST:%Y-%m-%d}; got '{raw}'.")
    return value.isoformat()


_url_validator = URLValidator(schemes=["http", "https"])


def _clean_url(field: EvidenceField, raw: Any) -> str:
    value = str(raw).strip()
    try:
        _url_validator(value)
    except ValidationError:
        raise ValidationError(
            f"{field.label} must be a full http(s) URL such as https://app.example.com/page; got '{value}'."
        ) from None
    return value


def _clean_file(field: EvidenceField, raw: Any) -> str:
    return _clean_text(field, raw, 300)


def settings_default_currency() -> str:
    return getattr(settings, "DEFAULT_CURRENCY", "USD")


_CLEANERS = {
    FieldKind.TEXT: _clean_text,
    FieldKind.LONG_TEXT: _clean_long_text,
    FieldKind.CHOICE: _clean_choice,
    FieldKind.NUMBER: _clean_number,
    FieldKind.MONEY: _clean_money,
    FieldKind.DATETIME: _clean_datetime,
    FieldKind.URL: _clean_url,
    FieldKind.FILE: _clean_file,
}
