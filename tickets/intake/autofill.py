"""Evidence the form fills in for the agent: browser facts from a User-Agent, account facts from the customer.

Only blank fields are filled, so nothing the agent typed is overwritten, and a
choice field is only filled with one of its allowed values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ua_parser import parse

from tickets.intake.evidence import is_blank
from tickets.models import Customer, EvidenceField, FieldKind

USER_AGENT_KEY = "user_agent"
USER_AGENT_FACTS = frozenset({"browser", "browser_version", "os", "device"})
_TABLET_HINTS = ("ipad", "tablet", "kindle", "silk", "playbook", "nexus 7", "nexus 9", "sm-t")
_DESKTOP_OSES = ("windows", "mac os x", "macos", "linux", "ubuntu", "chrome os", "fedora", "debian", "freebsd")

# Evidence keys filled from the chosen customer account, for any ticket type that has them.
ACCOUNT_FIELDS = {
    "customer_segment": lambda c: c.segment,
    "segment": lambda c: c.segment,
    "plan_tier": lambda c: c.plan_tier,
    "customer_tier": lambda c: c.plan_tier,
    "mrr": lambda c: str(c.mrr),
    "account_id": lambda c: c.external_id,
    "customer_name": lambda c: c.name,
}


def user_agent_parse(user_agent: str) -> dict[str, str]:
    """Browser, browser version, OS and device class of a User-Agent string; unknown parts are left out."""
    user_agent = (user_agent or "").strip()
    if not user_agent:
        return {}
    result = parse(user_agent)
    facts: dict[str, str] = {}
    if result.user_agent and result.user_agent.family != "Other":
        facts["browser"] = result.user_agent.family
        version = ".".join(p for p in (result.user_agent.major, result.user_agent.minor) if p)
        if version:
            facts["browser_version"] = version
    if result.os and result.os.family != "Other":
        version = ".".join(p for p in (result.os.major, result.os.minor) if p)
        facts["os"] = f"{result.os.family} {version}".strip()
    device = _device_class(user_agent, result)
    if device:
        facts["device"] = device
    return facts


def _device_class(user_agent: str, result) -> str:
    lowered = user_agent.lower()
    family = " ".join(filter(None, [result.device.family, result.device.model])).lower() if result.device else ""
    if family == "spider":
        return "other"
    if any(hint in lowered or hint in family for hint in _TABLET_HINTS) or (
        "android" in lowered and "mobile" not in lowered
    ):
        return "tablet"
    if "mobi" in lowered or "iphone" in lowered or "ipod" in family or "windows phone" in lowered:
        return "mobile"
    os_family = (result.os.family if result.os else "").lower()
    if any(os_family.startswith(name) for name in _DESKTOP_OSES):
        return "desktop"
    return ""


def evidence_autofill(
    *, fields: Iterable[EvidenceField], values: Mapping[str, Any], customer: Customer | None = None
) -> dict[str, str]:
    """Values for the blank fields of `fields` that a User-Agent or the customer account can answer."""
    fields = list(fields)
    known: dict[str, str] = {}
    if any(f.key == USER_AGENT_KEY for f in fields):
        known.update(user_agent_parse(str(values.get(USER_AGENT_KEY) or "")))
    if customer is not None:
        known.update({key: getter(customer) for key, getter in ACCOUNT_FIELDS.items()})
    filled = {}
    for field in fields:
        if field.key not in known or not is_blank(values.get(field.key)):
            continue
        value = known[field.key]
        if field.kind == FieldKind.CHOICE:
            value = next((c for c in field.choices if str(c).lower() == str(value).lower()), None)
        if value:
            filled[field.key] = value
    return filled
