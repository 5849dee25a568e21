"""Evidence for the demo's feedback beyond bugs: what each kind's owner needs (the form asks the same).

Drawn from a random generator of its own, so adding it left every other draw of the demo (tickets, bugs,
fix effects) exactly as it was for a given seed.
"""

from __future__ import annotations

import random
from typing import Any

from triage.demo.vocab import COMPETITORS

PAGES = ("Board > Filters", "Timeline view", "Project settings > Members", "Reports > Export", "Inbox", "Task dialog")
DOC_SEARCHES = ("how to {action}", "{thing}", "recurring tasks", "guest permissions", "API rate limits", "SSO setup")
DEAL_STAGES = ("prospect", "evaluation", "negotiation", "renewal", "closed_lost", "closed_won")
DEAL_WEIGHTS = (2, 4, 2, 3, 3, 1)
USE_CASES = (
    "Run {detail} planning without copying data between tools.",
    "Let the admin team do it without asking engineering.",
    "Give clients a view of progress without exposing internal work.",
    "Cut the manual work the team does {detail}.",
)


class FeedbackEvidence:
    """Writes the evidence of UX feedback, documentation gaps, at-risk signals, praise and competitive intel,
    and the extra feature-request evidence (use case, churn risk, expansion blocker, competitive gap)."""

    def __init__(self, seed: int):
        self.rng = random.Random(f"demo-feedback-evidence-{seed}")

    def _csat(self, evidence: dict[str, Any], low: bool = False) -> dict[str, Any]:
        if self.rng.random() < 0.3:
            evidence["csat"] = self.rng.choice(("1", "2", "2", "3")) if low else self.rng.choice(("3", "4", "5", "5"))
        return evidence

    def for_kind(self, kind: str, *, body: str, values: dict[str, str]) -> dict[str, Any]:
        """The evidence of one ticket of `kind` whose description says `body`."""
        rng = self.rng
        if kind == "ux_feedback":
            return self._csat(
                {
                    "page_or_flow": rng.choice(PAGES),
                    "customer_tried": f"Tried to {values['action']} from {values['area']}.",
                    "stuck_at": f"Could not find where to {values['action']}; expected it next to {values['thing']}.",
                }
            )
        if kind == "documentation_gap":
            search = rng.choice(DOC_SEARCHES).format(action=values["action"], thing=values["thing"])
            return {"doc_or_search": f"Help centre search: '{search}'", "missing": body[:1000]}
        if kind == "at_risk_signal":
            lowered = body.lower()
            if "move to" in lowered or "cancel" in lowered:
                indicator = "churn_language"
            elif "alternatives" in lowered:
                indicator = "competitor_mentioned"
            else:
                indicator = "negative_csat"
            evidence = {"risk_indicator": indicator, "customer_words": body[:1000]}
            if values["competitor"] in body:
                evidence["competitor"] = values["competitor"]
            return self._csat(evidence, low=True)
        if kind == "praise":
            return self._csat(
                {"quote": body[:1000], "may_we_use_it": rng.choices(("yes", "no", "ask_first"), (3, 1, 2))[0]}
            )
        if kind == "competitive_intel":
            return {
                "competitor": values["competitor"],
                "context": body[:1000],
                "deal_stage": rng.choices(DEAL_STAGES, DEAL_WEIGHTS)[0],
            }
        return {}

    def feature_extras(self, evidence: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
        """Use case, and now and then churn risk, expansion blocker or a competitor that has it."""
        rng = self.rng
        extra = {"use_case": rng.choice(USE_CASES).format(detail=values["detail"])}
        blocker = evidence.get("revenue_impact") == "blocker"
        if rng.random() < (0.35 if blocker else 0.05):
            extra["churn_risk"] = "yes"
        if rng.random() < (0.3 if blocker else 0.08):
            extra["expansion_blocker"] = "yes"
        if rng.random() < 0.12:
            extra["competitor_has_it"] = rng.choice(COMPETITORS)
        return self._csat({**evidence, **extra})
