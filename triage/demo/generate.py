"""Write one demo ticket: its words, its evidence and its place in the help desk.

`TicketMaker.make()` returns a plain dict of column values (no model instance),
so a million tickets stream to the database in bounded memory.
"""

from __future__ import annotations

import bisect
import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from triage.demo import feedback as fb
from triage.demo.bugs import RecurringBug
from triage.demo.feedback_evidence import FeedbackEvidence
from triage.demo.timeline import Stream
from triage.demo.vocab import AREAS, COMPETITORS, ENVIRONMENT_WEIGHTS, ENVIRONMENTS, PLAN_PRICE, ClientEnv
from triage.demo.wording import compile_all, compose_description, style_subject

SOURCES = (("zendesk", "ZD-", 0.7), ("intercom", "IC-", 0.15), ("web", "web-", 0.1), ("freshdesk", "FD-", 0.05))
NETWORKS = ("office_network", "home_broadband", "mobile_data", "vpn", "satellite", "unknown")
NETWORK_WEIGHTS = (40, 25, 12, 15, 1, 7)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
ENDPOINTS = ("/api/v2/session", "/api/v2/checkout/confirm", "/api/v2/tasks", "/api/v2/reports/export", "/auth/callback")
_TXN_CHARS = string.ascii_letters + string.digits


@dataclass(frozen=True)
class DemoCustomer:
    """What ticket generation needs to know about a customer account."""

    id: int
    name: str
    segment: str
    plan_tier: str
    currency: str
    region: str
    renewal: datetime


class Picker:
    """Weighted choice from a fixed list, with precomputed cumulative weights (fast for millions)."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


class TicketMaker:
    """Turns (stream, moment) into a ticket row. Deterministic for a given random generator."""

    def __init__(self, *, rng, customers, agent_ids, demo_agent_id, type_ids, counted_keys, end):
        self.rng = rng
        self.end = end
        self.type_ids = type_ids
        self.counted_keys = counted_keys
        weights = {"enterprise": 3.0, "mid_market": 2.0, "smb": 1.0}
        self.customers_all = Picker(customers, [weights[c.segment] for c in customers])
        self._by_segments: dict[tuple, Picker] = {}
        self.customers = customers
        others = [a for a in agent_ids if a != demo_agent_id]
        self.agents = Picker([demo_agent_id, *others], [0.3] + [0.7 / max(1, len(others))] * len(others))
        self.envs = Picker(ENVIRONMENTS, ENVIRONMENT_WEIGHTS)
        self._env_filters: dict[tuple, Picker] = {}
        self.sources = Picker(SOURCES, [s[2] for s in SOURCES])
        self.sequence = 0
        self._compiled: dict[int, list] = {}
        self.feedback_evidence = FeedbackEvidence(seed=len(customers))

    # --- helpers -------------------------------------------------------------
    def _templates(self, texts):
        key = id(texts)
        if key not in self._compiled:
            self._compiled[key] = compile_all(texts)
        return self._compiled[key]

    def _render(self, texts, values) -> str:
        return self.rng.choice(self._templates(texts)).render(self.rng, values)

    def _customer(self, segments: tuple[str, ...]) -> DemoCustomer:
        if not segments:
            return self.customers_all(self.rng)
        if segments not in self._by_segments:
            chosen = [c for c in self.customers if c.segment in segments] or self.customers
            self._by_segments[segments] = Picker(chosen, [1] * len(chosen))
        return self._by_segments[segments](self.rng)

    def _env(self, families: tuple[str, ...]) -> ClientEnv:
        if not families:
            return self.envs(self.rng)
        if families not in self._env_filters:
            pairs = [
                (e, w)
                for e, w in zip(ENVIRONMENTS, ENVIRONMENT_WEIGHTS, strict=True)
                if any(f in e.browser.lower() or e.os.lower().startswith(f) for f in families)
            ]
            self._env_filters[families] = Picker([p[0] for p in pairs], [p[1] for p in pairs])
        return self._env_filters[families](self.rng)

    def _amount(self, customer: DemoCustomer) -> dict[str, str]:
        rng = self.rng
        price = PLAN_PRICE[customer.plan_tier] or PLAN_PRICE["professional"]
        seats = {"enterprise": 40, "mid_market": 15, "smb": 4}[customer.segment]
        value = price * max(1, int(seats * rng.uniform(0.5, 1.6)))
        if rng.random() < 0.2:
            value *= 12 * 0.85  # annual plans get a discount
        return {"amount": f"{value:.2f}", "currency": customer.currency}

    def _client_fields(self, env: ClientEnv, share: float) -> dict[str, Any]:
        rng, out = self.rng, {}
        if rng.random() < share:
            out["browser"] = env.browser
            out["os"] = env.os
            if rng.random() < 0.8:
                out["browser_version"] = env.version
            if rng.random() < 0.85:
                out["device"] = env.device
            if rng.random() < 0.35:
                out["user_agent"] = env.user_agent
        return out

    def _values(self, customer: DemoCustomer, env: ClientEnv, bug: RecurringBug | None) -> dict[str, str]:
        rng = self.rng
        major = env.version.split(".")[0]
        values = {
            "browser": rng.choice((env.browser, f"{env.browser} {major}", f"{env.browser} on {env.os}")),
            "os": env.os,
            "area": rng.choice(rng.choice(list(AREAS.values()))),
            "plan": customer.plan_tier.title(),
            "n": str(rng.choice((3, 5, 12, 40, 150, 300, 800))),
            "company": customer.name,
            "competitor": rng.choice(COMPETITORS),
            "month": MONTHS[customer.renewal.month - 1],
            "thing": rng.choice(fb.TAIL_THINGS),
            "action": rng.choice(fb.TAIL_ACTIONS),
            "oddity": rng.choice(fb.TAIL_ODDITIES),
            "detail": rng.choice(fb.FEATURE_DETAIL),
        }
        self._money = self._amount(customer)
        amount, currency = self._money["amount"], self._money["currency"]
        symbol = {"USD": "$", "EUR": "€", "GBP": "£", "AUD": "A$"}[currency]
        values["amount"] = rng.choice((f"{currency} {amount}", f"{symbol}{amount}", f"{amount} {currency}"))
        if bug is not None:
            values["code"] = rng.choice(bug.codes) if bug.codes else "n/a"
            values["http"] = rng.choice(bug.http) if bug.http else "500"
            values["message"] = rng.choice(bug.messages) if bug.messages else ""
            low, high = bug.load_range
            values["seconds"] = str(round(rng.uniform(low, high)))
        return values

    def _technical(self, bug: RecurringBug, values: dict, env: ClientEnv) -> list[str]:
        rng, lines = self.rng, []
        if bug.codes and rng.random() < 0.8:
            lines.append(
                rng.choice(("Error code: {}", "Code {} shown", "error {}", "Decline code {}")).format(values["code"])
            )
        if bug.messages and rng.random() < 0.7:
            lines.append(f'Message: "{values["message"]}"')
        if bug.http and rng.random() < 0.6:
            lines.append(f"HTTP {values['http']} on {rng.choice(ENDPOINTS)}")
        if bug.exceptions and rng.random() < 0.6:
            lines.append(f"Console: Uncaught {rng.choice(bug.exceptions)}")
        if rng.random() < 0.6:
            lines.append(f"{env.browser} {env.version} / {env.os}")
        return lines

    # --- evidence per ticket type ---------------------------------------------
    def _evidence(self, type_key, bug, customer, env, reported_at, values) -> dict[str, Any]:
        rng = self.rng
        if type_key == "login_issue":
            ev = self._client_fields(env, 1.0)
            ev["error_message"] = values["message"] or rng.choice(fb.TAIL_MESSAGES)
            ev["account_status"] = rng.choice(bug.account_statuses) if bug else rng.choice(("active", "unknown"))
            if rng.random() < 0.7:
                last = reported_at - timedelta(seconds=rng.randrange(7200, 86400 * 20))
                ev["last_successful_login"] = last.replace(microsecond=0).isoformat()
            if rng.random() < 0.8:
                ev["login_method"] = rng.choice(bug.login_methods) if bug else "password"
            return ev
        if type_key == "payment_failure":
            ev = self._client_fields(env, 0.4)
            ev["payment_method"] = rng.choice(bug.methods) if bug else "credit_card"
            ev["amount"] = self._money
            ev["error_code"] = values.get("code") or rng.choice(("card_declined", "generic_decline", "500"))
            if rng.random() < 0.75:
                prefix = rng.choice(("txn_", "ch_3P"))
                ev["transaction_id"] = prefix + "".join(rng.choices(_TXN_CHARS, k=16))
            if rng.random() < 0.8:
                ev["checkout_step"] = rng.choice(bug.steps) if bug else "payment_details"
            return ev
        if type_key == "feature_bug":
            ev = self._client_fields(env, 0.7)
            if bug is not None:
                ev["component"] = bug.component
                ev["steps_to_reproduce"] = bug.repro
                ev["expected_behavior"] = bug.expected
                ev["actual_behavior"] = rng.choice(bug.actual)
                ev["frequency"] = rng.choice(bug.frequency)
                if (bug.messages or bug.exceptions) and rng.random() < 0.4:
                    ev["error_message"] = rng.choice(bug.messages + bug.exceptions)
            else:
                ev["component"] = rng.choice(("dashboard", "reports", "editor", "settings", "other"))
                ev["steps_to_reproduce"] = f"1. Open {values['area']}\n2. {values['action'].capitalize()}"
                ev["expected_behavior"] = "The change is applied and stays after a refresh."
                ev["actual_behavior"] = values["oddity"].capitalize() + "."
                ev["frequency"] = rng.choice(("sometimes", "once", "often"))
                if rng.random() < 0.3:
                    ev["error_message"] = rng.choice(fb.TAIL_MESSAGES)
            if rng.random() < 0.15:
                ev.pop("component", None)
            return ev
        # performance_issue
        ev = self._client_fields(env, 0.6)
        ev["page_action"] = rng.choice(bug.page_actions) if bug else values["area"]
        low, high = bug.load_range if bug else (4.0, 20.0)
        ev["load_time_seconds"] = round(rng.uniform(low, high), 1)
        if rng.random() < 0.75:
            ev["network_conditions"] = rng.choices(NETWORKS, weights=NETWORK_WEIGHTS)[0]
        if rng.random() < 0.5:
            ev["region"] = customer.region
        return ev

    def _feature_evidence(self, customer: DemoCustomer, words: str) -> dict[str, Any]:
        rng = self.rng
        blocker = {"enterprise": 0.35, "mid_market": 0.2, "smb": 0.08}[customer.segment]
        roll = rng.random()
        return {
            "customer_segment": customer.segment,
            "need_frequency": rng.choices(("daily", "weekly", "one_time"), weights=(5, 4, 1))[0],
            "workaround_difficulty": rng.choices(("impossible", "complex", "simple"), weights=(2, 5, 3))[0],
            "revenue_impact": "blocker" if roll < blocker else ("friction" if roll < 0.7 else "nice_to_have"),
            "customer_words": words,
        }

    def _completeness(self, type_key: str | None, evidence: dict) -> float:
        counted = self.counted_keys.get(type_key)
        if not counted:
            return 1.0
        return round(sum(1 for k in counted if k in evidence) / len(counted), 3)

    # --- the ticket -----------------------------------------------------------
    def make(self, stream: Stream, reported_at: datetime) -> dict[str, Any]:
        """One ticket row of `stream`, reported at `reported_at`."""
        rng = self.rng
        self.sequence += 1
        bug = stream.bug
        customer = self._customer(bug.segments if bug else ())
        env = self._env(bug.envs if bug else ())
        values = self._values(customer, env, bug)
        type_key, kind, evidence = None, stream.family, {}
        if bug is not None:
            type_key, kind = bug.type_key, "bug_report"
            subject = self._render(bug.subjects, values)
            body = self._render(bug.bodies, values)
            context = rng.choice(bug.context) if bug.context else ""
            description = compose_description(
                rng, body=body, context=context, technical=self._technical(bug, values, env), steps=bug.repro
            )
            evidence = self._evidence(type_key, bug, customer, env, reported_at, values)
        elif stream.family == "tail_bug":
            type_key, kind = stream.payload, "bug_report"
            login = type_key == "login_issue"
            values["message"] = rng.choice(fb.TAIL_LOGIN_MESSAGES if login else fb.TAIL_MESSAGES)
            values["code"] = rng.choice(fb.TAIL_PAYMENT_CODES)
            values["seconds"] = str(rng.randint(5, 40))
            subjects, bodies = fb.TAIL_BY_TYPE.get(type_key, (fb.TAIL_SUBJECTS, fb.TAIL_BODIES))
            subject = self._render(subjects, values)
            description = compose_description(rng, body=self._render(bodies, values))
            evidence = self._evidence(type_key, None, customer, env, reported_at, values)
        elif stream.family == "feature_request":
            theme: fb.FeatureTheme = stream.payload
            type_key = "feature_request"
            values["thing"] = rng.choice(fb.FEATURE_IDEAS)
            subject = self._render(theme.subjects, values)
            words = self._render(theme.words, values)
            description = compose_description(rng, body=f'{rng.choice(("Customer", "Their admin", "CTO"))}: "{words}"')
            evidence = self.feedback_evidence.feature_extras(self._feature_evidence(customer, words), values)
        else:
            subjects, bodies = fb.OTHER_FEEDBACK[stream.family]
            subject = self._render(subjects, values)
            body = self._render(bodies, values)
            description = compose_description(rng, body=body)
            type_key = stream.family if stream.family in self.type_ids else None
            evidence = self.feedback_evidence.for_kind(stream.family, body=body, values=values) if type_key else {}
        source, prefix, _ = self.sources(rng)
        return {
            "source": source,
            "external_id": f"{prefix}{100000 + self.sequence}",
            "subject": style_subject(rng, subject)[:255],
            "description": description,
            "feedback_kind": kind,
            "ticket_type_id": self.type_ids.get(type_key),
            "evidence": evidence,
            "evidence_completeness": self._completeness(type_key, evidence),
            "customer_id": customer.id,
            "agent_id": self.agents(rng),
            "status": self._status(reported_at),
            "reported_at": reported_at,
            "created_at": min(self.end, reported_at + timedelta(seconds=rng.randrange(120, 5400))),
        }

    def _status(self, reported_at: datetime) -> str:
        age_days = (self.end - reported_at).total_seconds() / 86400
        roll = self.rng.random()
        if age_days > 14:
            return "closed" if roll < 0.3 else ("solved" if roll < 0.96 else "pending")
        if age_days > 3:
            return "solved" if roll < 0.45 else ("pending" if roll < 0.75 else "open")
        return "new" if roll < 0.4 else ("open" if roll < 0.85 else "pending")
