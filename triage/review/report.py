"""The weekly Voice-of-Customer report: one JSON-ready dict per week, and its Markdown and CSV renderings.

It follows the weekly Voice of Customer template: top themes (ticket counts, impact, a sample quote and
the action taken), the bug impact table (bug, tickets, customers, estimated resolution), wins (fixes
that worked), feature requests trending, at-risk accounts, ticket trends, and the meeting's decisions and
action items. The page's section selectors build it, so the report says what the page says. The API
returns the dict as it is.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from tickets.models import ClusterStatus
from triage.review.selectors.accounts import at_risk_accounts
from triage.review.selectors.common import Shared, latest_events
from triage.review.selectors.fixes import fixes_changed
from triage.review.selectors.meeting import meeting_record
from triage.review.selectors.new_bugs import new_bugs
from triage.review.selectors.requests import feature_requests_trending
from triage.review.selectors.slas import sla_status
from triage.review.selectors.top import top_clusters
from triage.review.selectors.trends import FEEDBACK_SHARE_TARGET, ticket_trends
from triage.review.story import event_line
from triage.review.weeks import ReviewWeek

THEMES = 5
BUG_TABLE = 10


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def estimated_resolution(cluster) -> str:
    """When customers can expect it solved, in words."""
    if cluster.fix_deployed_at:
        return f"Fix deployed {timezone.localtime(cluster.fix_deployed_at):%d %b %Y}"
    if cluster.status == ClusterStatus.WONT_FIX:
        return "Won't fix"
    if cluster.fix_eta:
        return f"Fix expected {cluster.fix_eta:%d %b %Y}"
    if cluster.workaround.strip():
        return "Workaround available; no fix date yet"
    return "Not scheduled yet"


def _action_taken(cluster, decisions: dict[int, list[str]], latest: dict) -> str:
    if decisions.get(cluster.pk):
        return "; ".join(decisions[cluster.pk])
    event = latest.get(cluster.pk)
    line = event_line(event)
    if line:
        return f"{line} ({timezone.localtime(event.created_at):%d %b})"
    owner = f", owner {_name(cluster.owner)}" if cluster.owner_id else ""
    return f"{cluster.get_status_display()}{owner}"


def _verdict_row(row) -> dict[str, Any]:
    return {
        "cluster_id": row.cluster.pk,
        "title": row.cluster.title,
        "verdict": row.verdict,
        "verdict_label": row.label,
        "provisional": row.provisional,
        "previous_verdict": row.previous,
        "change_pct": None if row.change_pct is None else round(row.change_pct, 1),
        "days_observed": row.days_observed,
        "url": _url(reverse("metrics:fix_impact", args=[row.cluster.pk])),
    }


def _item(item) -> dict[str, Any]:
    return {
        "id": item.pk,
        "kind": item.kind,
        "text": item.text,
        "owner": _name(item.owner),
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "cluster_id": item.cluster_id,
        "done": item.is_done,
    }


def _amount(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def _request_row(row) -> dict[str, Any]:
    return {
        "cluster_id": row.cluster.pk,
        "title": row.cluster.title,
        "tickets": row.tickets,
        "previous_tickets": row.previous,
        "change": row.change["diff"],
        "change_pct": row.change["pct"],
        "customers": row.customers,
        "mrr": _amount(row.mrr),
        "decision": row.decision,
        "status": row.cluster.status,
        "status_label": row.cluster.get_status_display(),
        "sample_quote": row.quote,
        "url": _url(reverse("tickets:feature_request", args=[row.cluster.pk])),
    }


def _at_risk_row(row) -> dict[str, Any]:
    handoff, customer = row.handoff, row.customer
    worst = row.worst_bug
    return {
        "customer_id": customer.pk,
        "account": customer.name,
        "segment": customer.get_segment_display(),
        "mrr": _amount(customer.mrr),
        "csm": _name(customer.csm_owner),
        "reasons": row.reasons,
        "open_bugs": row.open_bugs,
        "worst_open_bug": {"cluster_id": worst["id"], "title": worst["title"], "priority": worst["priority"] or ""}
        if worst
        else None,
        "handoff_id": handoff.pk,
        "handoff_type": handoff.handoff_type,
        "urgency": handoff.urgency,
        "raised_at": timezone.localtime(handoff.created_at).isoformat(),
        "handoff_status": handoff.status,
        "handoff_status_label": handoff.get_status_display(),
        "intervention": handoff.intervention,
        "result": handoff.result,
        "result_label": handoff.get_result_display() if handoff.result else "",
        "url": _url(reverse("accounts:detail", args=[customer.pk])),
    }


def review_report(*, week: ReviewWeek) -> dict[str, Any]:
    """Everything the report says about `week`, JSON-ready (dates as ISO strings, money as strings)."""
    shared = Shared(week=week)
    top = top_clusters(week, limit=BUG_TABLE)
    fixes = fixes_changed(week)
    sla = sla_status(week, shared)
    trends = ticket_trends(week, shared)
    meeting = meeting_record(week, with_deliveries=False)
    fresh = new_bugs(week)
    requests = feature_requests_trending(week)
    at_risk = at_risk_accounts(week)
    latest = latest_events(cluster_ids=[r.cluster.pk for r in top.rows[:THEMES]])
    decided: dict[int, list[str]] = {}
    for item in meeting.decisions + meeting.actions:
        if item.cluster_id:
            decided.setdefault(item.cluster_id, []).append(item.text)
    themes = []
    for rank, row in enumerate(top.rows[:THEMES], start=1):
        quote = row.examples[0] if row.examples else None
        themes.append(
            {
                "rank": rank,
                "cluster_id": row.cluster.pk,
                "title": row.cluster.title,
                "tickets": row.tickets,
                "previous_tickets": row.previous,
                "change": row.change["diff"],
                "change_pct": row.change["pct"],
                "customers": row.customers,
                "mrr_at_stake": str(row.mrr.quantize(Decimal("0.01"))),
                "segments": row.segments,
                "sample_quote": {
                    "subject": quote["subject"],
                    "text": quote["excerpt"] or quote["subject"],
                    "customer": quote["customer"],
                    "segment": quote["segment"],
                }
                if quote
                else None,
                "action_taken": _action_taken(row.cluster, decided, latest),
                "priority": row.cluster.priority,
                "status": row.cluster.status,
                "owner": _name(row.cluster.owner),
                "url": _url(reverse("tickets:cluster_detail", args=[row.cluster.pk])),
            }
        )
    compliance, before = sla.compliance or {}, sla.compliance_before or {}
    return {
        "week": week.key,
        "starts_on": week.monday.isoformat(),
        "ends_on": week.sunday.isoformat(),
        "time_zone": str(timezone.get_default_timezone()),
        "complete": not week.is_current,
        "days_covered": week.days_covered,
        "generated_at": week.now.isoformat(),
        "url": _url(reverse("review:week", args=[week.key])),
        "top_themes": themes,
        "bug_impact": [
            {
                "cluster_id": row.cluster.pk,
                "bug": row.cluster.title,
                "tickets": row.tickets,
                "customers": row.customers,
                "estimated_resolution": estimated_resolution(row.cluster),
                "status": row.cluster.status,
                "priority": row.cluster.priority,
            }
            for row in top.rows
        ],
        "new_bugs": [
            {
                "cluster_id": row.cluster.pk,
                "title": row.cluster.title,
                "tickets": row.tickets,
                "evidence_completeness": None if row.completeness is None else round(row.completeness, 2),
                "status": row.cluster.status,
                "priority": row.cluster.priority,
            }
            for row in fresh.rows
        ],
        "new_bug_count": fresh.total,
        "feature_requests_trending": [_request_row(row) for row in requests.rows],
        "wins": [_verdict_row(row) for row in fixes.wins],
        "fixes_not_working": [_verdict_row(row) for row in fixes.failed],
        "at_risk_accounts": [_at_risk_row(row) for row in at_risk.rows],
        "at_risk_count": at_risk.total,
        "at_risk_count_previous_week": at_risk.previous,
        "sla": {
            "breaches": sla.breach_count,
            "breaches_previous_week": sla.breaches_before,
            "share_acknowledged_within": compliance.get("share_acknowledged_within"),
            "share_acknowledged_within_previous_week": before.get("share_acknowledged_within"),
        },
        "ticket_trends": {
            "tickets": trends.total,
            "previous_week_tickets": trends.previous,
            "change": trends.change.get("diff"),
            "change_pct": trends.change.get("pct"),
            "bug_tickets": trends.bugs,
            "other_feedback": trends.other,
            "feedback_share": None if trends.feedback_share is None else round(trends.feedback_share, 4),
            "feedback_share_target": list(FEEDBACK_SHARE_TARGET),
            "top_ticket_types": [{"name": name, "tickets": n} for name, n in trends.top_types],
            "weekly_tickets": [
                {"week": w.key, "tickets": n} for w, n in zip(trends.spark_weeks, trends.weekly, strict=True)
            ],
        },
        "decisions": [_item(i) for i in meeting.decisions],
        "action_items": [_item(i) for i in meeting.actions],
        "previous_action_items": [_item(i) for i in meeting.last_week_actions],
    }


# --- Renderings ---------------------------------------------------------------------------------


def _signed(value: int | None) -> str:
    return "—" if value is None else f"{value:+d}"


def _pct(value) -> str:
    return "new" if value is None else f"{value:+d}%"


def _share(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _money(value: str) -> str:
    return f"{Decimal(value):,.0f}"


def _md(text: Any) -> str:
    """A value made safe for a Markdown table cell or line."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _period(report: dict) -> str:
    start, end = date.fromisoformat(report["starts_on"]), date.fromisoformat(report["ends_on"])
    so_far = "" if report["complete"] else f" (so far: {report['days_covered']} of 7 days)"
    return f"{start:%a %d %b} – {end:%a %d %b %Y}{so_far}"


def report_markdown(report: dict) -> str:
    """The report as a Markdown document (what the Monday email's body says)."""
    out = [f"# Voice of Customer — week {report['week']}", "", f"{_period(report)}, {report['time_zone']}.", ""]
    trends = report["ticket_trends"]
    out += [
        "## Top themes",
        "",
    ]
    if not report["top_themes"]:
        out += ["No bug tickets this week.", ""]
    for theme in report["top_themes"]:
        out.append(
            f"{theme['rank']}. **{_md(theme['title'])}** — {theme['tickets']} tickets "
            f"({_signed(theme['change'])}, {_pct(theme['change_pct'])} vs last week)"
        )
        out.append(
            f"   - Impact: {theme['customers']} customers, MRR at stake {_money(theme['mrr_at_stake'])}"
            + (f", priority {theme['priority']}" if theme["priority"] else "")
        )
        if theme["sample_quote"]:
            quote = theme["sample_quote"]
            who = ", ".join(x for x in (quote["customer"], quote["segment"].replace("_", "-")) if x)
            out.append(f"   - “{_md(quote['text'])}”" + (f" — {_md(who)}" if who else ""))
        out.append(f"   - Action taken: {_md(theme['action_taken'])}")
    out += ["", "## Bug impact", "", "| Bug | Tickets | Customers | Estimated resolution |", "|---|---:|---:|---|"]
    for row in report["bug_impact"]:
        out.append(
            f"| {_md(row['bug'])} | {row['tickets']} | {row['customers']} | {_md(row['estimated_resolution'])} |"
        )
    if not report["bug_impact"]:
        out.append("| No bug tickets this week | | | |")
    out += _requests_markdown(report["feature_requests_trending"])
    out += ["", "## Wins", ""]
    for win in report["wins"]:
        read = " (provisional read)" if win["provisional"] else ""
        change = "" if win["change_pct"] is None else f", {abs(win['change_pct']):.0f}% fewer tickets"
        out.append(f"- **{_md(win['title'])}**: {win['verdict_label']}{read}{change} after {win['days_observed']} days")
    if not report["wins"]:
        out.append("No fix reached a successful verdict this week.")
    if report["fixes_not_working"]:
        out += ["", "Fixes that did not work:", ""]
        for fix in report["fixes_not_working"]:
            out.append(f"- **{_md(fix['title'])}**: {fix['verdict_label']}")
    out += _at_risk_markdown(report)
    out += [
        "",
        "## Ticket trends",
        "",
        f"- Tickets: {trends['tickets']} ({_signed(trends['change'])}, {_pct(trends['change_pct'])} vs last week)",
        f"- Bug tickets: {trends['bug_tickets']}; other feedback: {trends['other_feedback']}",
        f"- Feedback share: {_share(trends['feedback_share'])} (target 5-10%)",
    ]
    if trends["top_ticket_types"]:
        types = ", ".join(f"{t['name']} ({t['tickets']})" for t in trends["top_ticket_types"])
        out.append(f"- Top ticket types: {types}")
    sla = report["sla"]
    out += [
        f"- SLA breaches: {sla['breaches']} (last week {sla['breaches_previous_week']}); acknowledged within SLA "
        f"{_share(sla['share_acknowledged_within'])} "
        f"(last week {_share(sla['share_acknowledged_within_previous_week'])})",
        "",
        "## Decisions and action items",
        "",
    ]
    for item in report["decisions"]:
        out.append(f"- Decision: {_md(item['text'])}" + (f" (#{item['cluster_id']})" if item["cluster_id"] else ""))
    for item in report["action_items"]:
        owner = f" — {_md(item['owner'])}" if item["owner"] else ""
        due = f", due {item['due_date']}" if item["due_date"] else ""
        out.append(f"- [{'x' if item['done'] else ' '}] {_md(item['text'])}{owner}{due}")
    if not report["decisions"] and not report["action_items"]:
        out.append("Nothing recorded for this week.")
    out += ["", f"Full review: {report['url']}", ""]
    return "\n".join(out)


def _requests_markdown(rows: list[dict]) -> list[str]:
    out = ["", "## Feature requests trending", ""]
    if not rows:
        return out + ["No feature request was asked for this week."]
    out += ["| Request | Tickets | vs last week | Accounts | MRR | Decision |", "|---|---:|---|---:|---:|---|"]
    for row in rows:
        out.append(
            f"| {_md(row['title'])} | {row['tickets']} | {_signed(row['change'])} ({_pct(row['change_pct'])}) "
            f"| {row['customers']} | {_money(row['mrr'])} | {_md(row['decision'] or 'No decision yet')} |"
        )
    for row in rows:
        quote = row["sample_quote"]
        if quote:
            who = ", ".join(x for x in (quote["customer"], quote["segment"]) if x)
            out.append(f"- {_md(row['title'])}: “{_md(quote['text'])}”" + (f" — {_md(who)}" if who else ""))
    return out


def _at_risk_markdown(report: dict) -> list[str]:
    total, before = report["at_risk_count"], report["at_risk_count_previous_week"]
    out = ["", "## At-risk accounts", "", f"{total} accounts flagged at risk this week (last week {before})."]
    if not report["at_risk_accounts"]:
        return out
    out += ["", "| Account | Segment | MRR | CSM | Why | Open bugs | Handoff |", "|---|---|---:|---|---|---:|---|"]
    for row in report["at_risk_accounts"]:
        handoff = row["handoff_status_label"] + (f": {row['result_label']}" if row["result"] else "")
        out.append(
            f"| {_md(row['account'])} | {_md(row['segment'])} | {_money(row['mrr'])} | {_md(row['csm'] or 'No CSM')} "
            f"| {_md('; '.join(row['reasons']))} | {row['open_bugs']} | {_md(handoff)} |"
        )
    return out


def report_csv(report: dict) -> str:
    """The report's tables one after the other, each under its title, for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"Voice of Customer, week {report['week']}", report["starts_on"], report["ends_on"]])
    writer.writerow([])
    writer.writerow(["Top themes"])
    writer.writerow(
        ["rank", "cluster", "title", "tickets", "change", "change %", "customers", "MRR at stake", "sample quote",
         "action taken"]
    )  # fmt: skip
    for t in report["top_themes"]:
        quote = (t["sample_quote"] or {}).get("text", "")
        writer.writerow(
            [t["rank"], t["cluster_id"], t["title"], t["tickets"], t["change"], t["change_pct"], t["customers"],
             t["mrr_at_stake"], quote, t["action_taken"]]
        )  # fmt: skip
    writer.writerow([])
    writer.writerow(["Bug impact"])
    writer.writerow(["cluster", "bug", "tickets", "customers", "estimated resolution"])
    for row in report["bug_impact"]:
        writer.writerow([row["cluster_id"], row["bug"], row["tickets"], row["customers"], row["estimated_resolution"]])
    writer.writerow([])
    writer.writerow(["Feature requests trending"])
    writer.writerow(
        ["cluster", "request", "tickets", "previous week", "change", "accounts", "MRR", "decision", "quote"]
    )
    for row in report["feature_requests_trending"]:
        quote = (row["sample_quote"] or {}).get("text", "")
        writer.writerow(
            [row["cluster_id"], row["title"], row["tickets"], row["previous_tickets"], row["change"], row["customers"],
             row["mrr"], row["decision"], quote]
        )  # fmt: skip
    writer.writerow([])
    writer.writerow(["Wins"])
    writer.writerow(["cluster", "title", "verdict", "provisional", "change %", "days observed"])
    for win in report["wins"]:
        writer.writerow(
            [
                win["cluster_id"],
                win["title"],
                win["verdict"],
                win["provisional"],
                win["change_pct"],
                win["days_observed"],
            ]
        )
    writer.writerow([])
    writer.writerow(["At-risk accounts", report["at_risk_count"], "last week", report["at_risk_count_previous_week"]])
    writer.writerow(["customer", "account", "segment", "MRR", "CSM", "reasons", "open bugs", "handoff", "raised at"])
    for row in report["at_risk_accounts"]:
        writer.writerow(
            [row["customer_id"], row["account"], row["segment"], row["mrr"], row["csm"], "; ".join(row["reasons"]),
             row["open_bugs"], row["handoff_status_label"], row["raised_at"]]
        )  # fmt: skip
    writer.writerow([])
    writer.writerow(["Ticket trends"])
    trends = report["ticket_trends"]
    for label, key in (
        ("tickets", "tickets"),
        ("previous week", "previous_week_tickets"),
        ("change %", "change_pct"),
        ("bug tickets", "bug_tickets"),
        ("other feedback", "other_feedback"),
        ("feedback share", "feedback_share"),
    ):
        writer.writerow([label, trends[key]])
    writer.writerow([])
    writer.writerow(["Action items"])
    writer.writerow(["text", "owner", "due", "cluster", "done"])
    for item in report["action_items"]:
        writer.writerow([item["text"], item["owner"], item["due_date"], item["cluster_id"], item["done"]])
    return buffer.getvalue()


def report_subject(report: dict) -> str:
    start, end = date.fromisoformat(report["starts_on"]), date.fromisoformat(report["ends_on"])
    return f"Voice of Customer, week {report['week']} ({start:%d %b} – {end:%d %b %Y})"


def report_filename(week: ReviewWeek, extension: str) -> str:
    return f"voice-of-customer-{week.key}.{extension}"


def generated_at(report: dict) -> datetime:
    return datetime.fromisoformat(report["generated_at"])
