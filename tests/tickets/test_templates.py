"""Lines many tickets carry (a help desk's form, a signature, a tracker's headings) are not read as the bug."""

import pytest

from tests.tickets.factories import TicketFactory
from tickets.clustering import features as feats
from tickets.clustering import index
from tickets.clustering.assignment import ticket_assign
from tickets.clustering.selectors import cluster_suggestions
from tickets.clustering.services import index_rebuild_all
from tickets.models import BugCluster, TermStat, Ticket

pytestmark = pytest.mark.django_db

# What a support widget wraps around every customer's words: versions and ids differ, the lines do not.
FORM = """> Submitted through the Acme support widget (build {n}.2.{n})
> **Browser / Version**: Firefox 12{n}.0
> **Operating System**: Windows 1{n}
> **Tested another browser**: Yes, Chrome
> **Problem type**: Something else
> **Description**: {words}
> <details><summary>Browser configuration</summary><ul><li>None</li></ul></details>
> Reported with the Acme support widget, thank you for helping us improve https://help.acme.example/widget/reports/{n}
> Moved to the product tracker by the triage add-on https://addons.acme.example/en-US/triage-addon/"""

DIFFERENT_BUGS = [
    "Invoice PDF shows last month's totals",
    "Calendar sync drops recurring meetings",
    "Avatar upload rotates portrait photos",
    "Search ignores accented characters",
    "Dark mode renders white text on white",
    "Two-factor codes arrive after they expire",
    "Bulk delete leaves orphaned attachments",
    "Timezone picker lists Kyiv twice",
    "CSV export truncates long notes",
    "Slack digest repeats yesterday's items",
    "Mobile menu hides the logout button",
    "Password strength meter rejects spaces",
]


WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
]


def other_channels(count=60):
    """A desk where the widget is one channel among others: tickets written freely, about other things."""
    for n in range(count):
        ticket = TicketFactory(
            subject=f"{WORDS[n % 16]} {WORDS[(n * 7) % 16]} page fails",
            description=f"The {WORDS[(n * 3) % 16]} screen shows an error for {WORDS[(n * 5) % 16]}.",
            ticket_type=None,
        )
        ticket_assign(ticket_id=ticket.pk)


def file(subject, words, n):
    ticket = TicketFactory(subject=subject, description=FORM.format(n=n, words=words), ticket_type=None)
    ticket_assign(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    return ticket


def test_a_line_key_ignores_versions_ids_and_quote_marks_and_skips_prose():
    assert feats.line_key("> **Browser / Version**: Firefox 120.0") == feats.line_key(
        "**Browser / Version**: Firefox 98"
    )
    assert feats.line_key("Browser: Firefox") != feats.line_key("Browser: Chrome")
    assert feats.line_key("   ") is None and feats.line_key("> 12345") is None
    assert feats.line_key("word " * 60) is None  # a paragraph is the customer's own, never a template's


def test_template_lines_count_as_neither_words_nor_urls_but_an_error_code_in_them_still_counts():
    text = "Checkout spinner never stops\nSent from Acme Mail https://mail.acme.example/app/inbox\nError code E4001"
    template = {
        feats.line_key("Sent from Acme Mail https://mail.acme.example/app/inbox"),
        feats.line_key("Error code E4001"),
    }
    whole = feats.extract(subject="Checkout stuck", description=text)
    read = feats.extract(subject="Checkout stuck", description=text, template=template)
    assert {"sent", "acm", "mail"} <= set(whole.terms) and not {"sent", "acm", "mail"} & set(read.terms)
    assert "spinner" in read.terms
    assert "url:/app/inbox" in whole.fingerprints and "url:/app/inbox" not in read.fingerprints
    assert "code:e4001" in read.fingerprints  # an error code is evidence wherever it is written
    assert sorted(read.template) == sorted(template) and set(read.lines) == set(whole.lines)


FRAMES = (
    "at org eclipse ui internal workbench partserviceimpl activate at org eclipse ui internal workbenchpage "
    "busyopeneditor at org eclipse swt widgets eventtable sendevent at org eclipse swt widgets display "
    "sendevent at org eclipse swt "
    "widgets widget sendevent at org eclipse swt widgets display rundeferredevents at org eclipse swt widgets display "
    "readanddispatch at org eclipse ui internal workbench runeventloop"
)


def test_a_passage_many_tickets_share_on_one_long_line_is_cut_in_the_same_chunks_wherever_it_stands():
    early = f"the outline view throws npe when a file is renamed {FRAMES} the reporter left no comment"
    late = f"crash in the git staging view after a rebase with conflicts on windows {FRAMES}"
    early_keys, late_keys = feats.line_keys(early), feats.line_keys(late)
    shared = set(early_keys) & set(late_keys)
    assert len(shared) >= 3  # the frames' chunks, whatever came before them
    read = feats.extract(subject="Crash in git staging", description=late, template=shared)
    assert "rebas" in read.terms and "readanddispatch" not in read.terms and "widget" not in read.terms


def test_a_description_made_only_of_lines_others_wrote_too_is_read_whole():
    common = {feats.line_key("Can't log in"), feats.line_key("Sent from my phone")}
    read = feats.extract(subject="Help", description="Can't log in\nSent from my phone", template=common)
    assert {"log", "phone"} <= set(read.terms) and read.template == []
    mixed = feats.extract(subject="Help", description="Can't log in\nSent from my phone\nSSO loops", template=common)
    assert "log" not in mixed.terms and "sso" in mixed.terms


def test_tickets_in_one_form_about_different_bugs_stay_apart_once_the_form_is_known():
    other_channels()
    # The first tickets teach the engine the form's lines (they are a template's from the 10th on); until
    # then the form is most of what they share, and they gather in one cluster (a person splits it).
    first = [file(subject, subject.lower(), n) for n, subject in enumerate(DIFFERENT_BUGS[:10])]
    line_counts = TermStat.objects.filter(term__startswith=feats.LINE_PREFIX).values_list("tickets", flat=True)
    assert max(line_counts) == 10
    clusters_before = BugCluster.objects.count()
    late = [file(subject, subject.lower(), n) for n, subject in enumerate(DIFFERENT_BUGS[10:], start=10)]
    # Each new bug opens its own cluster, far from the others: the form they share is no reason to join.
    assert BugCluster.objects.count() == clusters_before + 2
    assert all(t.assignment_reasons[0].startswith("opened a new cluster") for t in late)
    assert all(t.assignment_confidence > 0.8 for t in late)  # the nearest scored under 0.2
    assert any("same URL path /widget/reports/:id" in t.assignment_reasons for t in first[1:])
    assert not any("URL path" in r for t in late for r in t.assignment_reasons)
    # The same bug told again in the same form still joins its cluster, on its own words.
    again = file("Mobile menu hides logout", "the logout button is hidden in the mobile menu", 99)
    assert again.cluster_id == late[0].cluster_id
    assert feats.extract(subject="x", description=FORM.format(n=1, words="y")).lines[0] in again.match_features["b"]


def test_the_known_bugs_panel_reads_typed_text_without_the_form():
    other_channels()
    for n, subject in enumerate(DIFFERENT_BUGS[:11]):
        file(subject, subject.lower(), n)
    typed = FORM.format(n=7, words="the office printer jams on double sided pages")
    assert cluster_suggestions(subject="Printer jams on duplex", description=typed, min_score=0.3) == []
    found = cluster_suggestions(subject="Mobile menu hides logout", description=FORM.format(n=3, words="logout hidden"))
    assert found and found[0].cluster.title == "Mobile menu hides the logout button"


def test_a_rebuild_counts_the_lines_again_and_leaves_the_form_out():
    for n, subject in enumerate(DIFFERENT_BUGS[:11]):
        file(subject, subject.lower(), n)
    index_rebuild_all()
    counts = dict(TermStat.objects.filter(term__startswith=feats.LINE_PREFIX).values_list("term", "tickets"))
    template = index.template_lines(counts, 11)
    assert len(template) >= 7  # every form line but the customer's own words
    for ticket in Ticket.objects.all():
        assert set(ticket.match_features["b"]) <= template and "widget" not in ticket.match_features["t"]


def test_the_weekly_prune_forgets_lines_one_ticket_carried_and_keeps_the_form():
    from tickets.clustering.storage import template_lines_prune
    from triage.celery import app

    for n, subject in enumerate(DIFFERENT_BUGS[:11]):
        file(subject, subject.lower(), n)
    lines = TermStat.objects.filter(term__startswith=feats.LINE_PREFIX)
    once = set(lines.filter(tickets__lte=1).values_list("term", flat=True))
    kept = set(lines.filter(tickets__gt=1).values_list("term", flat=True))
    assert once and kept
    words = TermStat.objects.exclude(term__startswith=feats.LINE_PREFIX).count()
    assert template_lines_prune() == len(once)
    assert set(lines.values_list("term", flat=True)) == kept  # the form's lines, with their counts
    assert TermStat.objects.exclude(term__startswith=feats.LINE_PREFIX).count() == words  # words untouched
    late = file(DIFFERENT_BUGS[11], DIFFERENT_BUGS[11].lower(), 11)
    assert late.match_features["b"]  # the form is still known
    assert app.conf.beat_schedule["template-lines-prune"]["task"] == "tickets.template_lines_prune"
