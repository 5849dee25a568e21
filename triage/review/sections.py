"""The sections of the review page, in order: each is one selector (data for a week) and one template.

A section is a selector module under `triage/review/selectors/` plus a template under
`templates/triage/review/sections/`, listed in SECTIONS.
A selector is called as `select(week, shared)` and may `shared.show(clusters)` to give the clusters it
lists their SLA state and latest story entry (read once for the whole page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from triage.review.selectors.accounts import at_risk_accounts
from triage.review.selectors.common import Shared
from triage.review.selectors.fixes import fixes_changed
from triage.review.selectors.meeting import MeetingSection, meeting_record
from triage.review.selectors.new_bugs import new_bugs
from triage.review.selectors.patterns import emerging_patterns
from triage.review.selectors.requests import feature_requests_trending
from triage.review.selectors.slas import sla_status
from triage.review.selectors.top import top_clusters
from triage.review.selectors.trends import ticket_trends
from triage.review.weeks import ReviewWeek


@dataclass(frozen=True)
class Section:
    """One part of the review page."""

    key: str
    title: str
    template: str
    select: Callable[[ReviewWeek, Shared], Any]


SECTIONS: tuple[Section, ...] = (
    Section("top", "Top clusters this week", "triage/review/sections/top.html", top_clusters),
    Section("new", "New bugs this week", "triage/review/sections/new_bugs.html", new_bugs),
    Section("fixes", "Did the fixes work?", "triage/review/sections/fixes.html", fixes_changed),
    Section("patterns", "Emerging patterns", "triage/review/sections/patterns.html", emerging_patterns),
    Section("slas", "SLA status", "triage/review/sections/slas.html", sla_status),
    Section("trends", "Ticket trends", "triage/review/sections/trends.html", ticket_trends),
    Section("requests", "Feature requests trending", "triage/review/sections/requests.html", feature_requests_trending),
    Section("accounts", "At-risk accounts", "triage/review/sections/accounts.html", at_risk_accounts),
)
SECTION_KEYS = {section.key for section in SECTIONS}


@dataclass
class BuiltSection:
    section: Section
    data: Any


@dataclass
class ReviewPage:
    week: ReviewWeek
    shared: Shared
    meeting: MeetingSection
    sections: list[BuiltSection] = field(default_factory=list)

    def data(self, key: str) -> Any:
        return next((built.data for built in self.sections if built.section.key == key), None)


def review_page(*, week: ReviewWeek, can_run: bool) -> ReviewPage:
    """Every section's data for `week`, then the shared reads (SLA state, latest story entries) once."""
    shared = Shared(week=week, can_run=can_run)
    page = ReviewPage(week=week, shared=shared, meeting=meeting_record(week))
    for section in SECTIONS:
        page.sections.append(BuiltSection(section, section.select(week, shared)))
    shared.finish()
    if can_run:
        shared.people()
    return page
