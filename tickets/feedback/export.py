"""A feature request as a Product Feedback Submission (Markdown), for a roadmap tool or a product review."""

from __future__ import annotations

from django.conf import settings

from tickets.feedback.requests import RequestDetails
from tickets.models import BugCluster, FeatureRequestDecision, Segment

MIX_LABELS = {
    "need_frequency": "Frequency of need",
    "workaround_difficulty": "Workaround difficulty",
    "revenue_impact": "Revenue impact",
}


def _money(value) -> str:
    return f"${value:,.0f}"


def _mix(values: dict[str, int]) -> str:
    total = sum(values.values())
    if not total:
        return "not given"
    parts = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{value.replace('_', ' ')} {count} ({count / total:.0%})" for value, count in parts)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def feature_request_markdown(
    *, cluster: BugCluster, details: RequestDetails, decisions: list[FeatureRequestDecision]
) -> str:
    """The request in the Product Feedback Submission template: summary, who asks and what it is worth,
    the evidence mix, the customers' own words, and the decision so far. `cluster` comes from
    `feature_request_list()` (it carries revenue, customers and requests)."""
    segments = ", ".join(
        f"{Segment(s).label if s in Segment.values else s} {n}" for s, n in sorted(details.segments.items())
    )
    decision = decisions[0].text if decisions else "No decision yet"
    lines = [
        f"# Product Feedback Submission: {cluster.title}",
        "",
        f"- **Request**: #{cluster.pk} {cluster.title}",
        f"- **Type**: Feature request ({cluster.get_status_display()})",
        f"- **Submitted from**: Triage, {settings.SITE_URL}/feature-requests/{cluster.pk}/",
        f"- **Current decision**: {decision}",
        "",
        "## Summary",
        "",
        cluster.summary or "Customers ask for this capability; their words are below.",
        "",
        "## Customer impact",
        "",
        "| | |",
        "|---|---|",
        f"| Times requested | {cluster.requests} |",
        f"| Distinct customers | {cluster.customers} |",
        f"| Revenue represented (MRR) | {_money(cluster.revenue)} |",
        f"| Revenue represented (ARR) | {_money(cluster.revenue * 12)} |",
        f"| Segments (customers) | {segments or 'unknown'} |",
        f"| Churn risk (customers) | {details.churn_risk} |",
        f"| Expansion blocker (customers) | {details.expansion_blocker} |",
        f"| Revenue blocker (customers) | {details.blockers} |",
        f"| Competitive gap | {', '.join(details.competitors) or 'none named'} |",
        "",
        "## Evidence",
        "",
    ]
    lines += [f"- **{label}**: {_mix(details.mixes.get(key, {}))}" for key, label in MIX_LABELS.items()]
    lines += ["", "## In the customers' words", ""]
    if details.quotes:
        for quote in details.quotes:
            who = quote["customer"] or "A customer"
            lines.append(f"> {_cell(quote['words'])}")
            lines.append(f"> — {who}, {quote['reported_at']:%d %b %Y}")
            lines.append("")
    else:
        lines += ["No quotes recorded yet.", ""]
    lines += ["## Decision history", ""]
    if decisions:
        lines += ["| When | Decision | By |", "|---|---|---|"]
        for row in decisions:
            by = (row.decided_by.get_full_name() or row.decided_by.get_username()) if row.decided_by else "—"
            lines.append(f"| {row.decided_at:%Y-%m-%d} | {_cell(row.text)} | {_cell(by)} |")
    else:
        lines.append("No decision recorded yet.")
    return "\n".join(lines) + "\n"
