"""Everything in the demo history that is not a recurring bug.

Feature-request themes (grouped into feature-request clusters), one-off bugs
built from parts so that they rarely repeat, and the other feedback kinds:
UX feedback, documentation gaps, at-risk signals, praise and competitive intel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureTheme:
    """A capability many customers ask for, in their own words."""

    key: str
    title: str
    weight: float
    subjects: tuple[str, ...]
    words: tuple[str, ...]
    status: str = "acknowledged"
    clustered: bool = True
    started_days_ago: int = 400  # customers started asking (the cluster is opened then)


FEATURE_THEMES = [
    FeatureTheme(
        "fr-okta-scim",
        "SCIM user provisioning with Okta and Azure AD",
        2.0,
        ("Request: SCIM provisioning", "Need automatic user provisioning", "SCIM support?"),
        (
            "We onboard {n} people a month and adding them by hand is not sustainable. We need users created and "
            "removed automatically from Okta.",
            "Our security team requires deprovisioning within 24 hours; without SCIM we can't pass the audit.",
        ),
        started_days_ago=20,
    ),
    FeatureTheme(
        "fr-excel-export",
        "Export reports to Excel with formatting",
        1.6,
        ("Excel export please", "Export to XLSX", "Can reports export to Excel?"),
        (
            "Finance wants the time report in Excel with the totals row, CSV loses the formatting.",
            "Every month I export CSV and rebuild it in Excel. An XLSX export would save me an hour.",
        ),
        started_days_ago=28,
    ),
    FeatureTheme(
        "fr-dark-mode",
        "Dark mode",
        1.2,
        ("Dark mode?", "Feature request: dark theme", "Please add dark mode"),
        ("Our designers work late and the white UI is painful. Dark mode would be great.",),
        status="in_progress",
    ),
    FeatureTheme(
        "fr-task-dependencies",
        "Cross-project task dependencies",
        1.5,
        ("Dependencies across projects", "Link tasks between projects", "Cross-project blocking"),
        ("Our launch plan spans five projects and we can't say that a task in one blocks a task in another.",),
        started_days_ago=30,
    ),
    FeatureTheme(
        "fr-audit-log-export",
        "Audit log export to SIEM",
        1.0,
        ("Audit log export", "Send audit logs to Splunk", "SIEM integration"),
        ("We need the audit log streamed to Splunk for compliance; downloading it monthly is not enough.",),
        status="new",
        started_days_ago=4,
    ),
    FeatureTheme(
        "fr-custom-fields-formulas",
        "Formula custom fields",
        0.9,
        ("Formula fields", "Calculated custom field", "Custom field with formula"),
        ("We track budget vs actual and want a field that computes the difference.",),
        status="new",
        started_days_ago=6,
    ),
    FeatureTheme(
        "fr-guest-permissions",
        "Finer permissions for guest users",
        1.1,
        ("Guest permissions", "Guests should not see all tasks", "Limit what clients can see"),
        ("We invite clients as guests and they can see internal tasks. We need per-task visibility.",),
        status="wont_fix",
    ),
    FeatureTheme(
        "fr-misc",
        "",
        2.5,
        (
            "Feature idea: {thing}",
            "Would love {thing}",
            "Request - {thing}",
            "Is {thing} on the roadmap?",
        ),
        (
            "It would help us a lot to have {thing}. Today we do it by hand.",
            "Our team keeps asking for {thing}; we'd use it {detail}.",
        ),
        clustered=False,
    ),
]

FEATURE_IDEAS = [
    "a Gantt baseline",
    "workload view per person",
    "keyboard shortcuts for the board",
    "an Outlook add-in",
    "Teams notifications",
    "bulk edit of due dates",
    "templates for recurring projects",
    "a public roadmap view",
    "time-off calendar",
    "multiple assignees",
    "task checklists in the app",
    "webhooks for comments",
    "a Google Sheets sync",
    "per-project currencies",
    "portfolio-level reports",
    "custom statuses per project",
    "an offline mode in the app",
    "approval workflows",
]
FEATURE_DETAIL = ["every day", "weekly in planning", "at every quarter close", "for each new client"]

# One-off bugs: a thing that went wrong somewhere, built from parts.
TAIL_SUBJECTS = (
    "{thing} {broken} in {area}",
    "Problem with {thing}",
    "{thing} - weird behaviour",
    "Bug: {thing}",
    "Issue in {area}",
)
TAIL_BODIES = (
    "{customer} {says} that when they {action} in {area}, {oddity}.",
    "When you {action}, {oddity}. Only seen once so far.",
    "{customer} tried to {action} and {oddity}. {tried} and it {still} happens.",
)
# Per ticket type, so a one-off sign-in problem reads like one (the type's own generic wording).
TAIL_BY_TYPE = {
    "login_issue": (
        ("{cannot} {login} - '{message}'", "Login problem for one user", "Sign-in issue: {message}", "can't login"),
        (
            "{customer} {cannot} {login}; the screen shows '{message}'. {tried} and it {still} fails.",
            "One of their {users} gets '{message}' when signing in {since}. Others are fine.",
        ),
    ),
    "payment_failure": (
        ("Payment {declined}: {code}", "Charge failed for {amount}", "Card {declined} ({code})", "billing issue"),
        (
            "{customer} tried to pay {amount} and got '{code}'. The bank sees no attempt.",
            "Payment of {amount} {declined} with {code} at checkout {since}.",
        ),
    ),
    "performance_issue": (
        ("{area} is {slow}", "Slow: {area}", "{area} takes {seconds}s", "performance problem"),
        (
            "{area} {loads} {seconds} seconds to load for them {since}.",
            "{customer} {says} {area} is {slow}, around {seconds} s, only for their workspace.",
        ),
    ),
}
TAIL_LOGIN_MESSAGES = [
    "Something went wrong. Please try again.",
    "Invalid email or password",
    "Your browser blocked cookies",
    "Workspace not found",
    "Network error (ERR_NAME_NOT_RESOLVED)",
    "CSRF verification failed",
    "Unable to reach the identity provider",
]
TAIL_PAYMENT_CODES = ["card_declined", "do_not_honor", "expired_card", "incorrect_cvc", "generic_decline", "05", "14"]

TAIL_THINGS = [
    "the task counter",
    "the sidebar",
    "the print view",
    "emoji reactions",
    "the project avatar",
    "the calendar sync",
    "the tag picker",
    "the timezone picker",
    "archived projects",
    "the activity feed",
    "the sort order",
    "the column width",
    "the share link",
    "task templates",
    "the language setting",
    "subtasks",
    "the trash",
    "the undo button",
    "the holiday calendar",
    "estimate fields",
]
TAIL_ACTIONS = [
    "rename a column",
    "duplicate a project",
    "archive a task",
    "change the language",
    "drag a subtask",
    "print the board",
    "restore from trash",
    "add a tag",
    "share a view link",
    "sort by priority",
    "collapse a section",
    "set an estimate",
    "move a task to another project",
    "undo a delete",
]
TAIL_ODDITIES = [
    "the page goes blank",
    "the change is lost after refresh",
    "a spinner never stops",
    "the wrong project opens",
    "the counter shows -1",
    "the text overlaps the icons",
    "the tooltip is stuck on screen",
    "the item appears twice",
    "nothing happens",
    "an 'Oops, something went wrong' box appears",
    "the order is reversed",
    "the avatar is replaced by someone else's",
]
TAIL_MESSAGES = [
    "Oops, something went wrong",
    "Request failed with status code 500",
    "Unexpected token < in JSON at position 0",
    "ERR_CONNECTION_RESET",
    "NullReferenceException",
    "Could not save changes",
]

OTHER_FEEDBACK = {
    "ux_feedback": (
        ("Confusing {thing}", "UX: {thing} hard to find", "Feedback on {thing}"),
        (
            "{customer} finds {thing} confusing; it took them a while to figure out how to {action}.",
            "Not a bug, but {thing} in {area} is hard to discover. Several {users} asked how to {action}.",
        ),
    ),
    "documentation_gap": (
        ("Docs missing for {thing}", "Help article outdated: {thing}", "No docs on how to {action}"),
        (
            "{customer} could not find any help article on how to {action}. The docs still show the old {area}.",
            "The help centre article about {thing} has screenshots from the old UI.",
        ),
    ),
    "at_risk_signal": (
        ("Renewal at risk - {company}", "{company} unhappy, renewal in {month}", "Churn risk: {company}"),
        (
            "{company} says if the open bugs are not fixed before their renewal in {month} they will move to "
            "{competitor}.",
            "Their VP mentioned they're evaluating alternatives ({competitor}) ahead of the {month} renewal.",
            "Usage dropped by half at {company}; the admin says the team lost trust after the recent issues.",
        ),
    ),
    "praise": (
        ("Thank you!", "Great job on {area}", "Customer loves the new {thing}"),
        (
            "{customer} wanted to say the new {area} saved their team hours this week.",
            "Quick kudos: {company} said support and the fix were fast. Happy customer.",
        ),
    ),
    "competitive_intel": (
        ("{competitor} comparison", "Prospect chose {competitor}", "{company} evaluating {competitor}"),
        (
            "{company} is comparing us with {competitor}; {competitor} has {thing} and that's their main gap.",
            "Lost a deal at {company} to {competitor}: price and {thing}.",
        ),
    ),
}
# Share of all tickets per stream family (recurring bugs take the rest).
MIX = {
    "recurring": 0.58,
    "tail_bug": 0.14,
    "feature_request": 0.12,
    "ux_feedback": 0.05,
    "documentation_gap": 0.04,
    "at_risk_signal": 0.035,
    "praise": 0.02,
    "competitive_intel": 0.015,
}
